import SurgeonCore

/// Where each group channel lives in the weights: for every node and weight with a declared
/// channel axis (`SurgeryRule.weightChannelAxes`), which group channel each index belongs to.
/// Criteria and regularisers use it to find filters without knowing layer types.
public struct ChannelSlices: Sendable {
    /// A weight's channel axis and, for each index along it, its group channel.
    public struct Slice: Sendable {
        public var node: Int
        public var weight: Int
        public var axis: Int
        /// True when the axis runs over the node's output channels (a filter), false for input
        /// channels (a consumer's slice).
        public var isOutput: Bool
        public var channels: [ChannelAnalysis.GroupChannel]
        /// For a grouped kernel's input axis (`WeightChannelAxes.inputBlocks` > 1): the blocks and
        /// the output axis that picks an element's block; nil otherwise.
        public var blocks: (count: Int, outputAxis: Int)?

        /// Calls `body(channel, flat element index)` for every element of a weight of `shape`,
        /// `channel` indexing `channels`: the index along `axis`, or, in a grouped kernel, the
        /// input channel that index stands for in the element's group.
        public func forEachElement(shape: [Int], _ body: (Int, Int) -> Void) {
            guard let blocks else { return ChannelSlices.forEachElement(shape: shape, axis: axis, body) }
            let extent = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
            let outExtent = shape[blocks.outputAxis], outInner = shape[(blocks.outputAxis + 1)...].reduce(1, *)
            let outPerBlock = max(outExtent / blocks.count, 1)
            for e in 0..<shape.reduce(1, *) {
                let i = (e / inner) % extent, f = (e / outInner) % outExtent
                body((f / outPerBlock) * extent + i, e)
            }
        }
    }

    public var slices: [Slice] = []

    public init(graph: Graph, analysis: ChannelAnalysis, surgeon: Surgeon) {
        for (i, node) in graph.nodes.enumerated() {
            guard let rule = node.layer as? any SurgeryRule, surgeon.registry.hasSurgeryRule(node.layer.kerasClassName)
            else { continue }
            for (k, axes) in rule.weightChannelAxes.enumerated() where k < node.layer.weights.count {
                if let a = axes.output {
                    slices.append(
                        Slice(node: i, weight: k, axis: a, isOutput: true, channels: analysis.outputChannels[i]))
                }
                guard let a = axes.input, let j = graph.inputIndices[i].first else { continue }
                let shape = node.layer.weights[k].shape
                if axes.inputBlocks == 1, analysis.outputChannels[j].count == shape[a] {
                    slices.append(
                        Slice(node: i, weight: k, axis: a, isOutput: false, channels: analysis.outputChannels[j]))
                } else if axes.inputBlocks > 1, let o = axes.output, o < shape.count, a < shape.count,
                    analysis.outputChannels[j].count == shape[a] * axes.inputBlocks,
                    shape[o] % axes.inputBlocks == 0
                {
                    slices.append(
                        Slice(
                            node: i, weight: k, axis: a, isOutput: false, channels: analysis.outputChannels[j],
                            blocks: (axes.inputBlocks, o)))
                }
            }
        }
    }

    /// Calls `body(index along the axis, flat element index)` for every element of `weight`.
    public static func forEachElement(shape: [Int], axis: Int, _ body: (Int, Int) -> Void) {
        let extent = shape[axis], inner = shape[(axis + 1)...].reduce(1, *), outer = shape[..<axis].reduce(1, *)
        for o in 0..<outer {
            for c in 0..<extent {
                let base = (o * extent + c) * inner
                for e in 0..<inner { body(c, base + e) }
            }
        }
    }
}
