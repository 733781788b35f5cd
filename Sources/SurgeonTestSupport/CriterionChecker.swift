import Layers
import SurgeonCore
import SurgeonStrategies

/// The generic check every importance criterion passes (like `checkSurgeryRule` for rules):
/// on each model (by default seeded random graphs; pass the small built-in architectures too),
/// scored with random data when the criterion `needsData` (none otherwise),
/// - scoring does not throw and returns one list per group,
/// - every member list of a prunable group has one finite score per group channel,
/// - scoring again with the same seed gives the same scores,
/// and at least one prunable group of some model is scored (a criterion may leave a group it
/// cannot judge unscored, e.g. `bn-gamma` one without BatchNorm).
///
/// Returns the problems found, each naming the model, group and member; with
/// `reportFailures` (the default) each also fails the calling test at `file`/`line`. Throws
/// only when the models cannot be made or analysed.
@discardableResult
public func checkImportanceCriterion(
    _ criterion: any ImportanceCriterion, models: [StrategyCheckModel]? = nil, surgeon: Surgeon = .standard,
    samples: Int = 8, seed: UInt64 = 11, reportFailures: Bool = true,
    file: StaticString = #filePath, line: UInt = #line
) throws -> StrategyCheckReport {
    var report = StrategyCheckReport()
    var scoredGroups = 0
    for model in try models ?? StrategyCheckModel.randomGraphs() {
        let label = "\(criterion.spec) on \(model.label)"
        let graph = model.graph
        let analysis = try surgeon.analyze(graph)
        let data = criterion.needsData ? try randomData(for: graph, samples: samples, seed: seed) : nil
        let context = ScoringContext(
            graph: graph, analysis: analysis, surgeon: surgeon, data: data, batchSize: max(1, samples / 2), seed: seed)
        report.checked += 1
        let first: [[MemberScores]], second: [[MemberScores]]
        do {
            first = try criterion.scores(context)
            second = try criterion.scores(context)
        } catch {
            report.fail("\(label): scoring threw: \(error)", reportFailures, file, line)
            continue
        }
        guard first.count == analysis.groups.count else {
            report.fail(
                "\(label): scores for \(first.count) groups, the model has \(analysis.groups.count)", reportFailures,
                file, line)
            continue
        }
        for group in analysis.prunableGroups {
            if !first[group.id].isEmpty { scoredGroups += 1 }
            for member in first[group.id] {
                let where_ = "\(label), group \(group.id) (member \(member.layer))"
                if member.scores.count != group.size {
                    report.fail(
                        "\(where_): \(member.scores.count) scores for \(group.size) channels", reportFailures, file,
                        line)
                } else if let k = member.scores.firstIndex(where: { !$0.isFinite }) {
                    report.fail("\(where_): score \(member.scores[k]) for channel \(k)", reportFailures, file, line)
                }
            }
        }
        if !identical(first, second) {
            let group =
                first.indices.first { $0 >= second.count || !identical([first[$0]], [second[$0]]) }
                .map { "group \($0)" } ?? "the group count"
            report.fail(
                "\(label): scoring twice with seed \(seed) gave different scores (first in \(group))", reportFailures,
                file, line)
        }
    }
    if scoredGroups == 0 {
        report.fail("\(criterion.spec): no prunable group of any model was scored", reportFailures, file, line)
    }
    return report
}

/// True when both hold the same members with bit-identical scores (NaN equals NaN here).
private func identical(_ a: [[MemberScores]], _ b: [[MemberScores]]) -> Bool {
    a.count == b.count
        && zip(a, b).allSatisfy { x, y in
            x.count == y.count
                && zip(x, y).allSatisfy {
                    $0.layer == $1.layer && $0.scores.map(\.bitPattern) == $1.scores.map(\.bitPattern)
                }
        }
}
