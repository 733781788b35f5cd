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
    public var seed: UInt64

    public init(
        graph: Graph, analysis: ChannelAnalysis, surgeon: Surgeon, data: LabeledData? = nil, batchSize: Int = 64,
        seed: UInt64 = 0
    ) {
        self.graph = graph
        self.analysis = analysis
        self.surgeon = surgeon
        self.data = data
        self.batchSize = batchSize
        self.seed = seed
    }
}

/// A way to score channels: returns, for every group (in `analysis.groups` order), the scores
/// of each member it can judge. A group with no such member is not pruned by this criterion.
public protocol ImportanceCriterion: Sendable {
    /// The name used by `--strategy` (`bn-gamma`).
    var name: String { get }
    /// The spec that makes this criterion again, parameters included (`norm:p=2`); reports
    /// name the criterion by it. The name, for a criterion without parameters.
    var spec: String { get }
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
    public var spec: String { name }
    public var needsData: Bool { false }
    public var scoresAreComparableAcrossGroups: Bool { false }
}

/// A strategy could not run.
public enum StrategyError: Error, Equatable, CustomStringConvertible {
    case needsData(criterion: String)
    case unreachable(String)
    case invalidBudget(String)
    /// The criterion's scores do not fit the groups (a wrong count, a non-finite score).
    case badScores(criterion: String, reason: String)

    public var description: String {
        switch self {
        case let .needsData(criterion):
            return
                "the '\(criterion)' criterion measures activations: give --data and --labels (validation images and "
                + "labels)"
        case let .unreachable(message):
            return message
        case let .invalidBudget(message):
            return message
        case let .badScores(criterion, reason):
            return "the '\(criterion)' criterion \(reason)"
        }
    }
}

extension ImportanceCriterion {
    /// `scores(context)`, checked: one list per group, and for every prunable group each
    /// member's score list has one finite score per group channel. The planner and the
    /// sensitivity report call it, so that a faulty criterion is an error, never a crash.
    public func checkedScores(_ context: ScoringContext) throws -> [[MemberScores]] {
        let scores = try self.scores(context)
        let groups = context.analysis.groups
        guard scores.count == groups.count else {
            throw StrategyError.badScores(
                criterion: spec, reason: "returned scores for \(scores.count) groups; the model has \(groups.count)")
        }
        for group in groups where group.prunable {
            for member in scores[group.id] {
                guard member.scores.count == group.size else {
                    throw StrategyError.badScores(
                        criterion: spec,
                        reason:
                            "gave \(member.scores.count) scores for group \(group.id) (member \(member.layer)), which "
                            + "has \(group.size) channels"
                    )
                }
                if let k = member.scores.firstIndex(where: { !$0.isFinite }) {
                    throw StrategyError.badScores(
                        criterion: spec,
                        reason:
                            "gave score \(member.scores[k]) to channel \(k) of group \(group.id) (member "
                            + "\(member.layer))"
                    )
                }
            }
        }
        return scores
    }
}
