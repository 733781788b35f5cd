import SurgeonCore

/// Criteria, group policies and regularisers by name. `--help` and `surgeon strategies` list
/// what is registered; copy `standard` and register your own without editing the project.
public struct StrategyRegistry: Sendable {
    /// Makes a regulariser of strength `lambda` for a model.
    public typealias RegularizerFactory = @Sendable (_ lambda: Float, _ graph: Graph, _ surgeon: Surgeon) throws -> any Regularizer

    public struct RegularizerEntry: Sendable {
        public var name: String
        public var summary: String
        public var make: RegularizerFactory

        public init(name: String, summary: String, make: @escaping RegularizerFactory) {
            self.name = name
            self.summary = summary
            self.make = make
        }
    }

    public private(set) var criteria: [any ImportanceCriterion] = []
    public private(set) var policies: [any GroupPolicy] = []
    public private(set) var regularizers: [RegularizerEntry] = []

    public init() {}

    public mutating func register(criterion: any ImportanceCriterion) throws(RegistryError) {
        guard !criteria.contains(where: { $0.name == criterion.name }) else { throw .duplicate(kind: "criterion", name: criterion.name) }
        criteria.append(criterion)
    }

    public mutating func register(policy: any GroupPolicy) throws(RegistryError) {
        guard !policies.contains(where: { $0.name == policy.name }) else { throw .duplicate(kind: "policy", name: policy.name) }
        policies.append(policy)
    }

    public mutating func register(regularizer: RegularizerEntry) throws(RegistryError) {
        guard !regularizers.contains(where: { $0.name == regularizer.name }) else { throw .duplicate(kind: "regularizer", name: regularizer.name) }
        regularizers.append(regularizer)
    }

    public func criterion(named name: String) throws(RegistryError) -> any ImportanceCriterion {
        guard let c = criteria.first(where: { $0.name == name }) else { throw .unknown(kind: "criterion", name: name, accepted: criteria.map(\.name)) }
        return c
    }

    public func policy(named name: String) throws(RegistryError) -> any GroupPolicy {
        guard let p = policies.first(where: { $0.name == name }) else { throw .unknown(kind: "policy", name: name, accepted: policies.map(\.name)) }
        return p
    }

    public func regularizer(named name: String) throws(RegistryError) -> RegularizerEntry {
        guard let r = regularizers.first(where: { $0.name == name }) else {
            throw .unknown(kind: "regularizer", name: name, accepted: regularizers.map(\.name))
        }
        return r
    }

    /// The built-in strategies.
    public static let standard: StrategyRegistry = {
        var r = StrategyRegistry()
        for c: any ImportanceCriterion in [BNGammaCriterion(), FilterNormCriterion(order: 1), FilterNormCriterion(order: 2),
                                           APoZCriterion(), TaylorCriterion(), RandomCriterion()] {
            try? r.register(criterion: c)
        }
        for p: any GroupPolicy in [ReductionPolicy(.mean), ReductionPolicy(.sum), ReductionPolicy(.max),
                                   IntersectionPolicy(), DeepestPolicy()] {
            try? r.register(policy: p)
        }
        try? r.register(regularizer: RegularizerEntry(
            name: "l1-gamma", summary: "L1 on BatchNorm gammas, lambda * sign(gamma) (Network Slimming)",
            make: { lambda, _, _ in L1GammaRegularizer(lambda: lambda) }))
        try? r.register(regularizer: RegularizerEntry(
            name: "l1-filters", summary: "L1 on convolution and dense kernels",
            make: { lambda, graph, surgeon in try L1FiltersRegularizer(lambda: lambda, graph: graph, surgeon: surgeon) }))
        try? r.register(regularizer: RegularizerEntry(
            name: "group-lasso", summary: "L2 norm per coupled channel, over every member's slice of it",
            make: { lambda, graph, surgeon in try GroupLassoRegularizer(lambda: lambda, graph: graph, surgeon: surgeon) }))
        return r
    }()
}
