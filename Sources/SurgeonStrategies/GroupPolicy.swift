import SurgeonCore

/// How a group's members' scores become one decision.
///
/// Score reductions (`mean`, `sum`, `max`) combine the members' scores per channel and delete
/// the lowest. List policies (`intersection`, `deepest`) let every member pick its own deletion
/// list under the budget, then combine the lists — the two policies of the origin write-up for
/// residual Adds and MobileNet blocks.
public protocol GroupPolicy: Sendable {
    /// The name used by `--policy`.
    var name: String { get }
    /// One line for `surgeon strategies` and `--help`.
    var summary: String { get }
    /// One score per group channel, for ranking (lower = deleted first).
    func combinedScores(_ members: [MemberScores]) -> [Float]
    /// For list policies: the group's list from the members' own lists; nil for reductions.
    func combine(lists: [[Int]]) -> [Int]?
}

extension GroupPolicy {
    public func combine(lists: [[Int]]) -> [Int]? { nil }
}

/// `mean`, `sum` or `max` of the members' scores.
public struct ReductionPolicy: GroupPolicy {
    public enum Reduction: String, Sendable { case mean, sum, max }
    public let reduction: Reduction

    public init(_ reduction: Reduction) { self.reduction = reduction }
    public var name: String { reduction.rawValue }
    public var summary: String {
        switch reduction {
        case .mean: return "delete the channels whose mean score over the group's members is lowest"
        case .sum: return "delete the channels whose summed score over the group's members is lowest"
        case .max: return "delete the channels whose best score among the group's members is lowest"
        }
    }

    public func combinedScores(_ members: [MemberScores]) -> [Float] {
        guard let first = members.first else { return [] }
        var out = first.scores
        for m in members.dropFirst() {
            for k in out.indices { out[k] = reduction == .max ? max(out[k], m.scores[k]) : out[k] + m.scores[k] }
        }
        if reduction == .mean { out = out.map { $0 / Float(members.count) } }
        return out
    }
}

/// `intersection`: each member picks its own deletion list; delete only what every member
/// would delete (safe, often little).
public struct IntersectionPolicy: GroupPolicy {
    public init() {}
    public var name: String { "intersection" }
    public var summary: String {
        "each member makes its own list under the budget; delete only what all members would delete"
    }

    /// For global ranking: a channel ranks by its highest member score (all must agree it is low).
    public func combinedScores(_ members: [MemberScores]) -> [Float] { ReductionPolicy(.max).combinedScores(members) }

    public func combine(lists: [[Int]]) -> [Int]? {
        guard var common = lists.first.map(Set.init) else { return [] }
        for list in lists.dropFirst() { common.formIntersection(list) }
        return common.sorted()
    }
}

/// `deepest`: the deepest member (the last in graph order) decides for the whole group, as it
/// extracts the highest-level features.
public struct DeepestPolicy: GroupPolicy {
    public init() {}
    public var name: String { "deepest" }
    public var summary: String { "the deepest member's own list (the last in graph order) decides for the whole group" }

    public func combinedScores(_ members: [MemberScores]) -> [Float] { members.last?.scores ?? [] }

    public func combine(lists: [[Int]]) -> [Int]? { lists.last ?? [] }
}
