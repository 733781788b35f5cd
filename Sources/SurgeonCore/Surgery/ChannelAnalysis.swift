/// The coupled channel groups of a graph, computed from the surgery rules alone.
///
/// Every channel of every tensor is an element of a union-find; each node's `ChannelMap` joins
/// its output channels to the input channels they are (identity, tied, concatenated with
/// offsets, expanded by a depth multiplier, flattened, gathered). A set of joined channels
/// lives or dies together. Sets created by the same producers (the same `fresh` layers) form
/// one group, so both branches of a residual Add are one group, while the two halves of a
/// Concatenate stay two groups with the Concatenate in each.
public struct ChannelAnalysis: Sendable {
    /// Every group, ordered by where its first channel appears in the graph.
    public var groups: [ChannelGroup]
    /// For each node, for each output channel: its group and index in the group.
    public var outputChannels: [[GroupChannel]]
    /// The layers whose channels are split into blocks that must lose equal numbers (grouped
    /// convolutions), in node order.
    public var blockConstraints: [BlockConstraint] = []
    /// Each node's name and type, for messages about a node's tensor.
    public var nodes: [(name: String, type: String)] = []

    /// A channel's place in the grouping.
    public struct GroupChannel: Sendable, Equatable {
        public var group: Int
        public var index: Int
    }

    /// The groups that may be pruned.
    public var prunableGroups: [ChannelGroup] { groups.filter(\.prunable) }
}

extension Surgeon {
    /// Finds the coupled channel groups of `graph`. Throws before anything else when a layer
    /// has no registered rule.
    public func analyze(_ graph: Graph) throws(SurgeryError) -> ChannelAnalysis {
        let rules = try rulesForNodes(graph)
        let nodes = graph.nodes
        var maps: [ChannelMap] = []
        maps.reserveCapacity(nodes.count)
        for (i, rule) in rules.enumerated() {
            do { maps.append(try rule.channelMap(inputShapes: graph.inputShapes(ofNode: i))) } catch {
                throw .ruleFailed(node: nodes[i].name, type: nodes[i].layer.kerasClassName, reason: "\(error)")
            }
        }
        let channels = graph.shapes.map { $0.last ?? 1 }
        var offset = [Int](repeating: 0, count: nodes.count + 1)
        for i in nodes.indices { offset[i + 1] = offset[i] + channels[i] }
        var sets = UnionFind(count: offset[nodes.count])

        for i in nodes.indices {
            let inputs = graph.inputIndices[i]
            let out = offset[i], count = channels[i]
            func fail(_ reason: String) -> SurgeryError {
                .inconsistentRule(
                    node: nodes[i].name, type: nodes[i].layer.kerasClassName, map: maps[i].description, reason: reason)
            }
            switch maps[i] {
            case .fresh:
                break
            case .identity:
                guard inputs.count == 1, channels[inputs[0]] == count else {
                    throw fail(
                        "it has \(inputs.count) input(s) with \(inputs.map { channels[$0] }) channels and \(count) "
                            + "output channels"
                    )
                }
                for c in 0..<count { sets.union(out + c, offset[inputs[0]] + c) }
            case .tied:
                guard !inputs.isEmpty, inputs.allSatisfy({ channels[$0] == count }) else {
                    throw fail("its inputs have \(inputs.map { channels[$0] }) channels and its output \(count)")
                }
                for j in inputs { for c in 0..<count { sets.union(out + c, offset[j] + c) } }
            case .concatenated:
                guard inputs.reduce(0, { $0 + channels[$1] }) == count else {
                    throw fail(
                        "its inputs' channels \(inputs.map { channels[$0] }) do not add up to its \(count) output "
                            + "channels"
                    )
                }
                var at = out
                for j in inputs {
                    for c in 0..<channels[j] { sets.union(at + c, offset[j] + c) }
                    at += channels[j]
                }
            case let .expanded(multiplier):
                guard inputs.count == 1, multiplier > 0, channels[inputs[0]] * multiplier == count else {
                    throw fail(
                        "\(inputs.map { channels[$0] }) input channels times \(multiplier) is not its \(count) output "
                            + "channels"
                    )
                }
                for c in 0..<count { sets.union(out + c, offset[inputs[0]] + c / multiplier) }
            case .flattened:
                guard inputs.count == 1, channels[inputs[0]] > 0, count % channels[inputs[0]] == 0 else {
                    throw fail(
                        "its \(count) output features are not a whole number of its input's "
                            + "\(inputs.map { channels[$0] }) channels"
                    )
                }
                let c0 = channels[inputs[0]]
                for k in 0..<count { sets.union(out + k, offset[inputs[0]] + k % c0) }
            case let .gathered(indices):
                guard inputs.count == 1, indices.count == count,
                    indices.allSatisfy({ (0..<channels[inputs[0]]).contains($0) })
                else {
                    throw fail(
                        "it lists \(indices.count) channels of \(inputs.map { channels[$0] }) input channels for "
                            + "\(count) output channels")
                }
                for (j, c) in indices.enumerated() { sets.union(out + j, offset[inputs[0]] + c) }
            }
        }

        // Producers of each set, in node order (so the lists come out sorted).
        let total = offset[nodes.count]
        var root = [Int](repeating: 0, count: total)
        for e in 0..<total { root[e] = sets.find(e) }
        var producers = [[Int]](repeating: [], count: total)
        var fixed = [Bool](repeating: false, count: total)
        let outputs = Set(graph.outputNodeIndices)
        for i in nodes.indices {
            let isProducer = maps[i] == .fresh
            let pinned = outputs.contains(i) || !rules[i].outputChannelsArePrunable
            guard isProducer || pinned else { continue }
            for e in offset[i]..<offset[i + 1] {
                let r = root[e]
                if isProducer, producers[r].last != i { producers[r].append(i) }
                if pinned { fixed[r] = true }
            }
        }

        // Number groups and their channels by first appearance.
        var groupOfProducers: [[Int]: Int] = [:]
        var slotOfRoot = [Int](repeating: -1, count: total)
        var groupOfRoot = [Int](repeating: -1, count: total)
        var sizes: [Int] = [], prunable: [Bool] = []
        var outputChannels: [[ChannelAnalysis.GroupChannel]] = []
        outputChannels.reserveCapacity(nodes.count)
        for i in nodes.indices {
            var row: [ChannelAnalysis.GroupChannel] = []
            row.reserveCapacity(channels[i])
            for e in offset[i]..<offset[i + 1] {
                let r = root[e]
                if slotOfRoot[r] < 0 {
                    let key = producers[r]
                    let g: Int
                    if let known = groupOfProducers[key] {
                        g = known
                    } else {
                        g = sizes.count
                        groupOfProducers[key] = g
                        sizes.append(0)
                        prunable.append(true)
                    }
                    groupOfRoot[r] = g
                    slotOfRoot[r] = sizes[g]
                    sizes[g] += 1
                    if fixed[r] { prunable[g] = false }
                }
                row.append(.init(group: groupOfRoot[r], index: slotOfRoot[r]))
            }
            outputChannels.append(row)
        }

        // Members: every tensor with channels in a group, and every fresh layer reading one.
        var members = [[ChannelGroup.Member]](repeating: [], count: sizes.count)
        func counts(_ row: [ChannelAnalysis.GroupChannel]) -> [(group: Int, count: Int)] {
            var tally: [Int: Int] = [:], order: [Int] = []
            for ch in row {
                if tally[ch.group] == nil { order.append(ch.group) }
                tally[ch.group, default: 0] += 1
            }
            return order.map { ($0, tally[$0]!) }
        }
        for i in nodes.indices {
            let node = nodes[i]
            let role: ChannelGroup.Role = maps[i] == .fresh ? .producer : .follower
            for (g, n) in counts(outputChannels[i]) {
                members[g].append(
                    .init(
                        layer: node.name, type: node.layer.kerasClassName, role: role, channels: n,
                        of: n == channels[i] ? nil : channels[i]))
            }
            guard maps[i] == .fresh else { continue }
            var seen = Set<Int>()
            for j in graph.inputIndices[i] where seen.insert(j).inserted {
                for (g, n) in counts(outputChannels[j]) {
                    members[g].append(
                        .init(
                            layer: node.name, type: node.layer.kerasClassName, role: .consumer, channels: n,
                            of: n == channels[j] ? nil : channels[j]))
                }
            }
        }
        let groups = sizes.indices.map { g in
            ChannelGroup(id: g, size: sizes[g], prunable: prunable[g], members: members[g])
        }
        return ChannelAnalysis(
            groups: groups, outputChannels: outputChannels,
            blockConstraints: try ChannelAnalysis.blockConstraints(graph, rules: rules, outputChannels: outputChannels),
            nodes: nodes.map { ($0.name, $0.layer.kerasClassName) })
    }

    /// Each node's rule; the first node without one stops the operation.
    func rulesForNodes(_ graph: Graph) throws(SurgeryError) -> [any SurgeryRule] {
        var rules: [any SurgeryRule] = []
        rules.reserveCapacity(graph.nodes.count)
        for node in graph.nodes {
            guard registry.hasSurgeryRule(node.layer.kerasClassName), let rule = node.layer as? any SurgeryRule else {
                throw .unsupportedLayer(
                    node: node.name, type: node.layer.kerasClassName, inputs: node.inputs,
                    supported: registry.surgeryRuleNames)
            }
            rules.append(rule)
        }
        return rules
    }
}
