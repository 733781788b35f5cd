import SurgeonCore

/// Criteria, group policies and regularisers by name, each entry a factory that makes the
/// strategy from its checked parameters (`taylor:batches=8`). `--help` and `surgeon
/// strategies` list what is registered; copy `standard` and register your own without editing
/// the project.
public struct StrategyRegistry: Sendable {
    public private(set) var criteria: [CriterionEntry] = []
    public private(set) var policies: [PolicyEntry] = []
    public private(set) var regularizers: [RegularizerEntry] = []
    /// Other names for registered strategies (`l1` for `norm:p=1`).
    public private(set) var aliases: [StrategyAlias] = []

    public init() {}

    // MARK: - Registration

    /// Adds a criterion; a second strategy of the same kind and name (or alias) is an error.
    public mutating func register(_ entry: CriterionEntry) throws(RegistryError) {
        try checkFree(.criterion, entry.name, criteria.map(\.name))
        criteria.append(entry)
    }

    /// Adds a criterion without parameters.
    public mutating func register(criterion: any ImportanceCriterion) throws(RegistryError) {
        try register(CriterionEntry(criterion))
    }

    public mutating func register(_ entry: PolicyEntry) throws(RegistryError) {
        try checkFree(.policy, entry.name, policies.map(\.name))
        policies.append(entry)
    }

    /// Adds a policy without parameters.
    public mutating func register(policy: any GroupPolicy) throws(RegistryError) {
        try register(PolicyEntry(policy))
    }

    public mutating func register(_ entry: RegularizerEntry) throws(RegistryError) {
        try checkFree(.regularizer, entry.name, regularizers.map(\.name))
        regularizers.append(entry)
    }

    /// Adds an alias; its target must be a registered strategy of the same kind.
    public mutating func register(_ alias: StrategyAlias) throws(RegistryError) {
        let targets = entryNames(alias.kind)
        try checkFree(alias.kind, alias.name, targets)
        guard targets.contains(alias.target.name) else {
            throw .unknown(kind: alias.kind.rawValue, name: alias.target.name, accepted: targets)
        }
        aliases.append(alias)
    }

    private func checkFree(_ kind: StrategyKind, _ name: String, _ taken: [String]) throws(RegistryError) {
        guard !taken.contains(name), !aliases.contains(where: { $0.kind == kind && $0.name == name }) else {
            throw .duplicate(kind: kind.rawValue, name: name)
        }
    }

    // MARK: - Lookup

    /// The registered names of a kind, then its aliases.
    public func names(_ kind: StrategyKind) -> [String] {
        entryNames(kind) + aliases.filter { $0.kind == kind }.map(\.name)
    }

    private func entryNames(_ kind: StrategyKind) -> [String] {
        switch kind {
        case .criterion: return criteria.map(\.name)
        case .policy: return policies.map(\.name)
        case .regularizer: return regularizers.map(\.name)
        }
    }

    /// The criterion a spec names, made from its checked parameters.
    public func criterion(_ spec: StrategySpec) throws(StrategySpecError) -> any ImportanceCriterion {
        let (entry, arguments) = try resolve(spec, in: criteria)
        return try entry.make(arguments)
    }

    /// The policy a spec names, made from its checked parameters.
    public func policy(_ spec: StrategySpec) throws(StrategySpecError) -> any GroupPolicy {
        let (entry, arguments) = try resolve(spec, in: policies)
        return try entry.make(arguments)
    }

    /// The regulariser a spec names, of strength `lambda`, for `graph`.
    /// The regulariser `spec` names; `cut` is the planner of the prune stage it prepares (and
    /// `data` its criterion's), which a regulariser aimed at a cut requires.
    public func regularizer(
        _ spec: StrategySpec, lambda: Float, graph: Graph, surgeon: Surgeon, cut: Planner? = nil,
        data: LabeledData? = nil
    ) throws -> any Regularizer {
        let (entry, arguments) = try resolve(spec, in: regularizers)
        if let make = entry.make { return try make(arguments, lambda, graph, surgeon) }
        guard let cut, let makeAimed = entry.makeAimed else {
            throw StrategyError.unreachable(
                "the regulariser '\(spec.name)' penalises the channels a cut will delete: use it in a recipe's "
                    + "sparse stage followed by a prune stage with a fixed budget")
        }
        return try makeAimed(arguments, lambda, graph, cut, data)
    }

    /// True when the regulariser `spec` names needs the cut it prepares (`growing-lasso`).
    public func regularizerNeedsCut(_ spec: StrategySpec) throws(StrategySpecError) -> Bool {
        try resolve(spec, in: regularizers).entry.needsCut
    }

    /// Checks a spec without a model: the name, every parameter and, for criteria and
    /// policies, the factory. What commands and recipes call before any work.
    public func validate(_ spec: StrategySpec, as kind: StrategyKind) throws(StrategySpecError) {
        switch kind {
        case .criterion: _ = try criterion(spec)
        case .policy: _ = try policy(spec)
        case .regularizer: _ = try resolve(spec, in: regularizers)
        }
    }

    /// The entry a spec names (through an alias, if it is one) and its checked arguments.
    public func resolve<Entry: StrategyEntry>(
        _ spec: StrategySpec, in entries: [Entry]
    )
        throws(StrategySpecError) -> (entry: Entry, arguments: StrategyArguments)
    {
        let kind = Entry.kind
        var target = spec
        var label = "\(kind.rawValue) '\(spec.name)'"
        var preset: [StrategySpec.Value] = []
        let alias = aliases.first { $0.kind == kind && $0.name == spec.name }
        if let alias {
            target = alias.target
            label += " (\(alias.target))"
        }
        guard let entry = entries.first(where: { $0.name == target.name }) else {
            throw .unknown(kind: kind, name: spec.name, accepted: names(kind))
        }
        if alias != nil { preset = try target.pairs(entry.parameters, strategy: label) }
        let pairs = preset + (try spec.pairs(entry.parameters, strategy: label))
        return (entry, try StrategyArguments(strategy: label, parameters: entry.parameters, pairs: pairs))
    }

    // MARK: - Built-in strategies

    /// The built-in strategies (the `exec:COMMAND` criterion, which writes `.npz` files, is
    /// added by `SurgeonPipeline`).
    public static let standard: StrategyRegistry = {
        var registry = StrategyRegistry()
        do { try registry.registerBuiltins() } catch {
            // Only a programming error in `registerBuiltins` gets here (the tests build `standard`).
            preconditionFailure("the built-in strategies: \(error)")
        }
        return registry
    }()

    /// Registers the built-in criteria, aliases, policies and regularisers; one that is
    /// already registered is an error (as it is for `standard` itself).
    public mutating func registerBuiltins() throws(RegistryError) {
        try register(criterion: BNGammaCriterion())
        try register(FilterNormCriterion.entry)
        try register(criterion: APoZCriterion())
        try register(TaylorCriterion.entry)
        try register(criterion: RandomCriterion())
        try register(StrategyAlias(.criterion, "l1", for: "norm:p=1"))
        try register(StrategyAlias(.criterion, "l2", for: "norm:p=2"))
        for policy: any GroupPolicy in [
            ReductionPolicy(.mean), ReductionPolicy(.sum), ReductionPolicy(.max),
            IntersectionPolicy(), DeepestPolicy(),
        ] {
            try register(policy: policy)
        }
        try register(
            RegularizerEntry(
                name: "l1-gamma", summary: "L1 on BatchNorm gammas, lambda * sign(gamma) (Network Slimming)",
                make: { _, lambda, _, _ in L1GammaRegularizer(lambda: lambda) }))
        try register(
            RegularizerEntry(
                name: "l1-filters", summary: "L1 on convolution and dense kernels",
                make: { _, lambda, graph, surgeon in
                    try L1FiltersRegularizer(lambda: lambda, graph: graph, surgeon: surgeon)
                }))
        try register(
            RegularizerEntry(
                name: "group-lasso", summary: "L2 norm per coupled channel, over every member's slice of it",
                make: { _, lambda, graph, surgeon in
                    try GroupLassoRegularizer(lambda: lambda, graph: graph, surgeon: surgeon)
                }))
        try register(
            RegularizerEntry(
                name: "growing-lasso",
                summary:
                    "group lasso on the channels the next prune stage would delete, re-planned every epoch, growing "
                    + "to lambda",
                aimed: { _, lambda, graph, cut, data in
                    try GrowingLassoRegularizer(lambda: lambda, graph: graph, planner: cut, data: data)
                }))
    }
}
