/// How many equal blocks a layer's input and output channels are split into, where every block
/// must lose as many channels as each other one: a grouped convolution with `g` groups has `g`
/// blocks on both sides (its kernel has `in / g` input rows for every filter, so `in / g` and
/// `out / g` must stay whole numbers). One block means no constraint.
public struct ChannelBlocks: Sendable, Equatable {
    /// Blocks of the (first) input's channels.
    public var input: Int
    /// Blocks of the output channels.
    public var output: Int

    public init(input: Int = 1, output: Int = 1) {
        self.input = input
        self.output = output
    }
}

/// One layer's equal-deletion constraint on one of its tensors, in group channels: a plan must
/// delete the same number of channels from every block (`Surgeon.validate` refuses one that
/// does not).
public struct BlockConstraint: Sendable, Equatable {
    /// Which tensor of the layer is split.
    public enum Side: String, Sendable, Equatable {
        case input, output
    }

    public var layer: String
    public var type: String
    public var side: Side
    /// The tensor's channels block by block (contiguous, equal sizes), as group channels.
    public var blocks: [[ChannelAnalysis.GroupChannel]]

    /// The number of blocks (a grouped convolution's `groups`).
    public var count: Int { blocks.count }
}

/// What the planner may do in one channel group, given the block constraints that reach it.
public enum BlockLayout: Sendable, Equatable {
    /// No constraint: any channels may go.
    case free
    /// The group's channels are split into these blocks (group channel indices, ascending),
    /// which must each lose the same number.
    case blocks([[Int]])
    /// The constraints reach other groups too, or split the group in incompatible ways: a plan
    /// that prunes it has to be written by hand (`Surgeon.validate` checks it).
    case coupled(reason: String)
}

extension ChannelAnalysis {
    /// The block layout of group `group`: `.free` when no constraint touches it, the blocks when
    /// every constraint that does splits exactly this group's channels the same way.
    public func blockLayout(ofGroup group: Int) -> BlockLayout {
        var layouts: [[[Int]]] = []
        for constraint in blockConstraints
        where constraint.blocks.contains(where: { $0.contains { $0.group == group } }) {
            let label =
                "layer '\(constraint.layer)' splits its \(constraint.side.rawValue) into \(constraint.count) blocks"
            let others = Set(constraint.blocks.joined().map(\.group)).subtracting([group])
            guard others.isEmpty else {
                return .coupled(reason: "\(label) that also hold channels of group(s) \(others.sorted())")
            }
            let blocks = constraint.blocks.map { $0.map(\.index).sorted() }.sorted { ($0.first ?? 0) < ($1.first ?? 0) }
            let all = blocks.joined().sorted()
            guard all == Array(0..<groups[group].size) else {
                return .coupled(reason: "\(label) that do not hold every channel of group \(group) exactly once")
            }
            if !layouts.contains(blocks) { layouts.append(blocks) }
        }
        guard let first = layouts.first else { return .free }
        guard layouts.count == 1 else {
            return .coupled(reason: "layers split group \(group) into blocks in \(layouts.count) different ways")
        }
        return .blocks(first)
    }

    /// The constraints of the graph's layers, from their rules' `channelBlocks`.
    static func blockConstraints(
        _ graph: Graph, rules: [any SurgeryRule], outputChannels: [[GroupChannel]]
    ) throws(SurgeryError) -> [BlockConstraint] {
        var constraints: [BlockConstraint] = []
        for (i, node) in graph.nodes.enumerated() {
            let blocks: ChannelBlocks
            do { blocks = try rules[i].channelBlocks(inputShapes: graph.inputShapes(ofNode: i)) } catch {
                throw .ruleFailed(node: node.name, type: node.layer.kerasClassName, reason: "\(error)")
            }
            var sides: [(BlockConstraint.Side, Int, [GroupChannel])] = []
            if blocks.output != 1 { sides.append((.output, blocks.output, outputChannels[i])) }
            if blocks.input != 1, let j = graph.inputIndices[i].first {
                sides.append((.input, blocks.input, outputChannels[j]))
            }
            for (side, count, channels) in sides {
                guard count > 0, channels.count % count == 0 else {
                    throw .inconsistentRule(
                        node: node.name, type: node.layer.kerasClassName, map: "\(count) \(side.rawValue) blocks",
                        reason: "its \(side.rawValue) has \(channels.count) channels")
                }
                let size = channels.count / count
                constraints.append(
                    BlockConstraint(
                        layer: node.name, type: node.layer.kerasClassName, side: side,
                        blocks: (0..<count).map { Array(channels[($0 * size)..<(($0 + 1) * size)]) }))
            }
        }
        return constraints
    }
}
