/// Plans, validates and applies channel deletions: plan -> validate the whole plan -> rewrite
/// every layer once, in one pass over the graph, into a new graph. The input graph is never
/// modified, and a refused plan changes nothing.
public struct Surgeon: Sendable {
    /// The layer types the surgeon knows: a type is supported when it is registered and adopts
    /// `SurgeryRule`.
    public var registry: LayerRegistry

    public init(registry: LayerRegistry) { self.registry = registry }

    /// Checks a plan against the model's groups: groups and members must match, indices must be
    /// in range and unique, no group may lose every channel, fixed groups may lose none, and
    /// every block of a layer's block constraint (a grouped convolution's groups) loses as many
    /// channels as the others.
    /// Returns, per group, which group channels are deleted.
    public func validate(_ plan: PruningPlan, against analysis: ChannelAnalysis) throws(SurgeryError) -> [[Bool]] {
        guard plan.surgeonPlan == PruningPlan.formatVersion else {
            throw .planMismatch(
                "plan format version \(plan.surgeonPlan); this surgeon reads version \(PruningPlan.formatVersion)")
        }
        var deleted = analysis.groups.map { [Bool](repeating: false, count: $0.size) }
        var seenGroups = Set<Int>()
        for planned in plan.groups {
            guard planned.id >= 0, planned.id < analysis.groups.count else {
                throw .unknownGroup(id: planned.id, groups: analysis.groups.count)
            }
            guard seenGroups.insert(planned.id).inserted else {
                throw .planMismatch("group \(planned.id) appears twice")
            }
            let group = analysis.groups[planned.id]
            guard planned.size == group.size else {
                throw .planMismatch(
                    "group \(planned.id) has \(group.size) channels in the model, the plan says \(planned.size)")
            }
            guard planned.members.map(\.layer) == group.members.map(\.layer) else {
                throw .planMismatch(
                    "group \(planned.id) has members \(group.members.map(\.layer)) in the model, the plan lists "
                        + "\(planned.members.map(\.layer))"
                )
            }
            for (p, m) in zip(planned.members, group.members) where p.channels != m.channels || p.role != m.role {
                throw .planMismatch(
                    "group \(planned.id): layer '\(m.layer)' has \(m.channels) channels as \(m.role.rawValue) in the "
                        + "model, the plan says \(p.channels) as \(p.role.rawValue)"
                )
            }
            guard !planned.delete.isEmpty else { continue }
            guard group.prunable else {
                throw .notPrunable(
                    group: group.id,
                    reason:
                        "its channels reach a graph input or output "
                        + "(\(group.members.map(\.layer).joined(separator: ", ")))"
                )
            }
            for index in planned.delete {
                guard index >= 0, index < group.size else {
                    throw .indexOutOfRange(group: group.id, index: index, size: group.size)
                }
                guard !deleted[group.id][index] else { throw .duplicateIndex(group: group.id, index: index) }
                deleted[group.id][index] = true
            }
            guard planned.delete.count < group.size else {
                throw .deletesWholeGroup(group: group.id, size: group.size, members: group.members.map(\.layer))
            }
        }
        for constraint in analysis.blockConstraints {
            let counts = constraint.blocks.map { block in block.reduce(0) { $0 + (deleted[$1.group][$1.index] ? 1 : 0) }
            }
            guard Set(counts).count > 1 else { continue }
            throw .unevenBlocks(
                layer: constraint.layer, type: constraint.type, side: constraint.side.rawValue,
                groups: Set(constraint.blocks.joined().map(\.group)).sorted(), blockSize: constraint.blocks[0].count,
                deleted: counts)
        }
        if let node = analysis.emptiedTensors(deleted).first {
            let (name, type) = node < analysis.nodes.count ? analysis.nodes[node] : ("#\(node)", "?")
            throw .emptiesTensor(layer: name, type: type, channels: analysis.outputChannels[node].count)
        }
        return deleted
    }

    /// The pruned graph: every layer rewritten for its surviving channels.
    public func apply(_ plan: PruningPlan, to graph: Graph) throws(SurgeryError) -> Graph {
        let analysis = try analyze(graph)
        return try apply(plan, to: graph, analysis: analysis)
    }

    /// `apply` with an analysis computed before (it must be of `graph`).
    public func apply(_ plan: PruningPlan, to graph: Graph, analysis: ChannelAnalysis) throws(SurgeryError) -> Graph {
        let deleted = try validate(plan, against: analysis)
        let rules = try rulesForNodes(graph)
        let kept = keptChannels(analysis, deleted: deleted)
        var nodes: [Node] = []
        nodes.reserveCapacity(graph.nodes.count)
        for (i, node) in graph.nodes.enumerated() {
            let inputs = graph.inputIndices[i]
            let untouched =
                kept[i].count == graph.shapes[i].last ?? 1
                && inputs.allSatisfy { kept[$0].count == graph.shapes[$0].last ?? 1 }
            if untouched {
                nodes.append(node)
                continue
            }
            do {
                let layer = try rules[i].pruned(
                    keptInputs: inputs.map { kept[$0] }, keptOutputs: kept[i],
                    inputShapes: graph.inputShapes(ofNode: i))
                nodes.append(Node(node.name, layer, inputs: node.inputs))
            } catch {
                throw .ruleFailed(node: node.name, type: node.layer.kerasClassName, reason: "\(error)")
            }
        }
        let pruned: Graph
        do { pruned = try Graph(nodes: nodes, outputs: graph.outputNames) } catch { throw .rebuild("\(error)") }
        for i in pruned.nodes.indices where (pruned.shapes[i].last ?? 1) != kept[i].count {
            throw .rebuild(
                "layer '\(pruned.nodes[i].name)' has \(pruned.shapes[i].last ?? 1) channels after pruning, expected "
                    + "\(kept[i].count)"
            )
        }
        return pruned
    }

    /// For each node, the output channels that survive, ascending.
    public func keptChannels(_ analysis: ChannelAnalysis, deleted: [[Bool]]) -> [[Int]] {
        analysis.outputChannels.map { row in
            var kept: [Int] = []
            kept.reserveCapacity(row.count)
            for (c, ch) in row.enumerated() where !deleted[ch.group][ch.index] { kept.append(c) }
            return kept
        }
    }

    /// What a plan would change, per layer and in total, without writing anything.
    public func summary(of plan: PruningPlan, on graph: Graph) throws(SurgeryError) -> PruningSummary {
        let pruned = try apply(plan, to: graph)
        return PruningSummary(before: graph, after: pruned)
    }
}

/// Sizes and costs before and after pruning.
public struct PruningSummary: Sendable, Codable, Equatable {
    public struct Layer: Sendable, Codable, Equatable {
        public var name: String
        public var type: String
        public var channelsBefore: Int
        public var channelsAfter: Int
        public var paramsBefore: Int
        public var paramsAfter: Int
    }

    public var paramsBefore: Int
    public var paramsAfter: Int
    public var macsBefore: Int
    public var macsAfter: Int
    public var layers: [Layer]

    public init(before: Graph, after: Graph) {
        let a = before.costs, b = after.costs
        paramsBefore = before.parameterCount
        paramsAfter = after.parameterCount
        macsBefore = before.macCount
        macsAfter = after.macCount
        layers = zip(a, b).map { x, y in
            Layer(
                name: x.name, type: x.type, channelsBefore: x.outputShape.last ?? 1,
                channelsAfter: y.outputShape.last ?? 1,
                paramsBefore: x.params, paramsAfter: y.params)
        }
    }
}
