import SurgeonCore

/// What every registry entry says of itself, for specs, `--help` and `surgeon strategies`:
/// its name, one line, and the parameters its factory takes.
public protocol StrategyEntry: Sendable {
    static var kind: StrategyKind { get }
    /// The name used in specs (`taylor`).
    var name: String { get }
    /// One line for `surgeon strategies` and `--help`.
    var summary: String { get }
    var parameters: [StrategyParameter] { get }
}

/// An importance criterion by name: its parameters and a factory that makes the criterion
/// from their checked values.
public struct CriterionEntry: StrategyEntry {
    public typealias Factory = @Sendable (StrategyArguments) throws(StrategySpecError) -> any ImportanceCriterion

    public static var kind: StrategyKind { .criterion }
    public var name: String
    public var summary: String
    public var parameters: [StrategyParameter]
    /// True when the criterion measures activations and needs `--data`.
    public var needsData: Bool
    public var make: Factory

    public init(
        name: String, summary: String, parameters: [StrategyParameter] = [], needsData: Bool = false,
        make: @escaping Factory
    ) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.needsData = needsData
        self.make = make
    }

    /// The entry of a criterion without parameters: the value itself.
    public init(_ criterion: any ImportanceCriterion) {
        self.init(name: criterion.name, summary: criterion.summary, needsData: criterion.needsData) { _ in criterion }
    }
}

/// A group policy by name, with its parameters and factory.
public struct PolicyEntry: StrategyEntry {
    public typealias Factory = @Sendable (StrategyArguments) throws(StrategySpecError) -> any GroupPolicy

    public static var kind: StrategyKind { .policy }
    public var name: String
    public var summary: String
    public var parameters: [StrategyParameter]
    public var make: Factory

    public init(name: String, summary: String, parameters: [StrategyParameter] = [], make: @escaping Factory) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.make = make
    }

    /// The entry of a policy without parameters: the value itself.
    public init(_ policy: any GroupPolicy) {
        self.init(name: policy.name, summary: policy.summary) { _ in policy }
    }
}

/// A sparsity regulariser by name. Its strength stays outside the parameters (`--l1 LAMBDA`,
/// a recipe's `lambda:`); the factory also sees the model, to find the weights it penalises.
/// A regulariser aimed at a cut (`growing-lasso`) has `makeAimed` instead, which also sees the
/// planner of the prune stage that follows.
public struct RegularizerEntry: StrategyEntry {
    public typealias Factory =
        @Sendable (_ arguments: StrategyArguments, _ lambda: Float, _ graph: Graph, _ surgeon: Surgeon) throws
        -> any Regularizer
    public typealias AimedFactory =
        @Sendable (
            _ arguments: StrategyArguments, _ lambda: Float, _ graph: Graph, _ cut: Planner, _ data: LabeledData?
        ) throws -> any Regularizer

    public static var kind: StrategyKind { .regularizer }
    public var name: String
    public var summary: String
    public var parameters: [StrategyParameter]
    public var make: Factory?
    public var makeAimed: AimedFactory?

    public init(name: String, summary: String, parameters: [StrategyParameter] = [], make: @escaping Factory) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.make = make
    }

    /// A regulariser that needs the cut it prepares: `make` gets the prune stage's planner and
    /// the data its criterion scores on.
    public init(name: String, summary: String, parameters: [StrategyParameter] = [], aimed: @escaping AimedFactory) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.makeAimed = aimed
    }

    /// True when the regulariser needs the cut it prepares.
    public var needsCut: Bool { make == nil }
}

/// Another name for a registered strategy with some parameters set: `l1` is `norm:p=1`.
/// Kept so that recipes and scripts written before a strategy took parameters still work.
public struct StrategyAlias: Sendable, Equatable {
    public var kind: StrategyKind
    public var name: String
    /// The strategy it stands for (`norm:p=1`); parameters given with the alias add to these.
    public var target: StrategySpec

    public init(_ kind: StrategyKind, _ name: String, for target: StrategySpec) {
        self.kind = kind
        self.name = name
        self.target = target
    }
}
