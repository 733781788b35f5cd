import SurgeonCore

/// Per-channel values of a node's tensor, scattered into its groups as that member's scores
/// (several channels landing on one group channel, as Flatten features do, keep the largest).
func memberScores(
    _ context: ScoringContext, node: Int, values: [Float], channels: [ChannelAnalysis.GroupChannel]
)
    -> [(group: Int, scores: MemberScores)]
{
    var perGroup: [Int: [Float]] = [:]
    for (c, ch) in channels.enumerated() where c < values.count {
        var scores = perGroup[ch.group] ?? [Float](repeating: -.infinity, count: context.analysis.groups[ch.group].size)
        scores[ch.index] = max(scores[ch.index], values[c])
        perGroup[ch.group] = scores
    }
    let name = context.graph.nodes[node].name
    return perGroup.sorted { $0.key < $1.key }.map {
        ($0.key, MemberScores(layer: name, scores: $0.value.map { $0 == -.infinity ? 0 : $0 }))
    }
}

/// Scores of several members, per group.
private func collect(
    _ context: ScoringContext, members: [(node: Int, values: [Float], channels: [ChannelAnalysis.GroupChannel])]
)
    -> [[MemberScores]]
{
    var result = [[MemberScores]](repeating: [], count: context.analysis.groups.count)
    for m in members {
        for (g, scores) in memberScores(context, node: m.node, values: m.values, channels: m.channels) {
            result[g].append(scores)
        }
    }
    return result
}

/// `bn-gamma`: |gamma| of every BatchNorm-like member (a layer with a `gamma` weight on its
/// channels) — Network Slimming's criterion (Liu et al., ICCV 2017).
public struct BNGammaCriterion: ImportanceCriterion {
    public init() {}
    public var name: String { "bn-gamma" }
    public var summary: String { "|gamma| of the BatchNorm after each producer (Network Slimming)" }
    /// Network Slimming ranks raw gammas across all layers: BatchNorm makes them comparable.
    public var scoresAreComparableAcrossGroups: Bool { true }

    public func scores(_ context: ScoringContext) throws -> [[MemberScores]] {
        var members: [(Int, [Float], [ChannelAnalysis.GroupChannel])] = []
        for (i, node) in context.graph.nodes.enumerated() {
            guard let k = node.layer.channelScaleIndex, k < node.layer.weights.count,
                node.layer.weights[k].rank == 1
            else { continue }
            members.append((i, node.layer.weights[k].scalars.map { abs($0) }, context.analysis.outputChannels[i]))
        }
        return collect(context, members: members)
    }
}

/// `norm:p=1` / `norm:p=2` (aliases `l1`, `l2`): the L1 or L2 norm of each producer's filter
/// (its kernel's slice for one output channel) — Li et al., "Pruning Filters for Efficient
/// ConvNets", ICLR 2017.
public struct FilterNormCriterion: ImportanceCriterion {
    /// The norm's order `p`: 1 or 2.
    public let order: Int

    public init(order: Int) { self.order = order }
    public var name: String { "norm" }
    public var spec: String { "norm:p=\(order)" }
    public var summary: String { "L\(order) norm of each producer's filters (conv kernels, dense columns)" }

    /// The registry entry: `norm` with `p` (1 or 2, default 1).
    public static let entry = CriterionEntry(
        name: "norm",
        summary:
            "Lp norm of each producer's filters (conv kernels, dense columns); l1 and l2 are norm:p=1 and norm:p=2",
        parameters: [
            StrategyParameter(
                "p", .integer(1...2), default: .integer(1), summary: "the norm's order: 1 (sum of |w|) or 2 (Euclidean)"
            )
        ]
    ) { arguments throws(StrategySpecError) in FilterNormCriterion(order: try arguments.integer("p")) }

    public func scores(_ context: ScoringContext) throws -> [[MemberScores]] {
        let slices = ChannelSlices(graph: context.graph, analysis: context.analysis, surgeon: context.surgeon)
        var members: [(Int, [Float], [ChannelAnalysis.GroupChannel])] = []
        for s in slices.slices where s.isOutput {
            let w = context.graph.nodes[s.node].layer.weights[s.weight]
            guard w.rank >= 2 else { continue }
            var norms = [Double](repeating: 0, count: w.shape[s.axis])
            ChannelSlices.forEachElement(shape: w.shape, axis: s.axis) { c, e in
                let v = Double(w.scalars[e])
                norms[c] += order == 1 ? abs(v) : v * v
            }
            members.append((s.node, norms.map { Float(order == 1 ? $0 : $0.squareRoot()) }, s.channels))
        }
        return collect(context, members: members)
    }
}

/// `random`: seeded uniform scores, a control for the other criteria.
public struct RandomCriterion: ImportanceCriterion {
    public init() {}
    public var name: String { "random" }
    public var summary: String { "uniform random scores (a control)" }
    public var scoresAreComparableAcrossGroups: Bool { true }

    public func scores(_ context: ScoringContext) throws -> [[MemberScores]] {
        var random = SeededRandom(seed: context.seed)
        return context.analysis.groups.map { group in
            [MemberScores(layer: "random", scores: (0..<group.size).map { _ in random.nextUnitFloat() })]
        }
    }
}
