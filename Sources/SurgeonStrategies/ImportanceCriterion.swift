import SurgeonCore

/// One member's opinion of a group's channels: a score per group channel (lower = less
/// important, deleted first).
public struct MemberScores: Sendable, Equatable {
    public var layer: String
    public var scores: [Float]

    public init(layer: String, scores: [Float]) {
        self.layer = layer
        self.scores = scores
    }
}

/// What a criterion may look at.
public struct ScoringContext: Sendable {
    public var graph: Graph
    public var analysis: ChannelAnalysis
    public var surgeon: Surgeon
    /// Labelled samples for data-driven criteria (apoz, taylor); nil for weight-only ones.
    public var data: LabeledData?
    public var batchSize: Int
    /// Batches used by criteria that need gradients (taylor).
    public var gradientBatches: Int
    public var seed: UInt64

    public init(graph: Graph, analysis: ChannelAnalysis, surgeon: Surgeon, data: LabeledData? = nil, batchSize: Int = 64,
                gradientBatches: Int = 4, seed: UInt64 = 0) {
        self.graph = graph
        self.analysis = analysis
        self.surgeon = surgeon
        self.data = data
        self.batchSize = batchSize
        self.gradientBatches = gradientBatches
        self.seed = seed
    }
}

/// A way to score channels: returns, for every group (in `analysis.groups` order), the scores
/// of each member it can judge. A group with no such member is not pruned by this criterion.
public protocol ImportanceCriterion: Sendable {
    /// The name used by `--strategy` (`bn-gamma`).
    var name: String { get }
    /// One line for `surgeon strategies` and `--help`.
    var summary: String { get }
    /// True when `ScoringContext.data` is required.
    var needsData: Bool { get }
    /// True when raw scores of different groups can be ranked together (BatchNorm gammas,
    /// zero shares); false when they depend on a layer's size (filter norms grow with fan-in),
    /// so global budgets normalise each group by its largest score first.
    var scoresAreComparableAcrossGroups: Bool { get }
    func scores(_ context: ScoringContext) throws -> [[MemberScores]]
}

extension ImportanceCriterion {
    public var needsData: Bool { false }
    public var scoresAreComparableAcrossGroups: Bool { false }
}

/// A strategy could not run.
public enum StrategyError: Error, Equatable, CustomStringConvertible {
    case needsData(criterion: String)
    case unreachable(String)
    case invalidBudget(String)

    public var description: String {
        switch self {
        case let .needsData(criterion):
            return "the '\(criterion)' criterion measures activations: give --data and --labels (validation images and labels)"
        case let .unreachable(message):
            return message
        case let .invalidBudget(message):
            return message
        }
    }
}
