import SurgeonCore
import SurgeonStrategies

/// How much accuracy each group costs: every prunable group pruned alone, at several ratios,
/// by a criterion; the rest of the model untouched.
public struct SensitivityReport: Sendable, Codable, Equatable {
    public struct Curve: Sendable, Codable, Equatable {
        public var group: Int
        /// The group's first producer, to name it.
        public var layer: String
        public var size: Int
        /// Accuracy drop (baseline - pruned, in accuracy points 0...1) at each ratio.
        public var drops: [Double]
    }

    public var strategy: String
    public var baselineAccuracy: Double
    public var ratios: [Double]
    public var curves: [Curve]

    /// Prunes each group alone at each ratio and measures the accuracy on `data`.
    public static func measure(
        _ graph: Graph, data: LabeledData, criterion: any ImportanceCriterion, policy: any GroupPolicy,
        ratios: [Double] = [0.25, 0.5, 0.75], surgeon: Surgeon, seed: UInt64 = 0
    ) throws -> SensitivityReport {
        let analysis = try surgeon.analyze(graph)
        let scores = try criterion.checkedScores(
            ScoringContext(graph: graph, analysis: analysis, surgeon: surgeon, data: data, seed: seed))
        let base = try Evaluation.evaluate(graph, on: data).accuracy
        var curves: [Curve] = []
        for group in analysis.prunableGroups where !scores[group.id].isEmpty && group.size > 1 {
            // A grouped convolution's blocks each lose the same share; coupled blocks are left out.
            let blocks: [[Int]]
            switch analysis.blockLayout(ofGroup: group.id) {
            case .free: blocks = [Array(0..<group.size)]
            case let .blocks(b): blocks = b
            case .coupled: continue
            }
            let combined = policy.combinedScores(scores[group.id])
            var drops: [Double] = []
            for ratio in ratios {
                var plan = PruningPlan(template: analysis)
                plan.groups[group.id].delete = blocks.flatMap { block in
                    let order = block.sorted { combined[$0] != combined[$1] ? combined[$0] < combined[$1] : $0 < $1 }
                    return order.prefix(min(block.count - 1, Int(ratio * Double(block.count))))
                }.sorted()
                plan = analysis.sparingEveryTensor(plan) { _, index in combined[index] }
                let pruned = try surgeon.apply(plan, to: graph, analysis: analysis)
                drops.append(base - (try Evaluation.evaluate(pruned, on: data).accuracy))
            }
            let layer =
                group.members.first { $0.role == .producer }?.layer ?? group.members.first?.layer ?? "group \(group.id)"
            curves.append(Curve(group: group.id, layer: layer, size: group.size, drops: drops))
        }
        return SensitivityReport(strategy: criterion.spec, baselineAccuracy: base, ratios: ratios, curves: curves)
    }
}
