/// Parameter and multiply-accumulate counts.
extension Graph {
    /// Size and cost of one node.
    public struct NodeCost: Sendable, Codable, Equatable {
        public var name: String
        public var type: String
        public var outputShape: Shape
        /// Scalars in all weights, trainable or not (as Keras's `count_params`).
        public var params: Int
        /// Multiply-accumulates for one sample.
        public var macs: Int
    }

    /// The cost of every node, in graph order.
    public var costs: [NodeCost] {
        nodes.indices.map { i in
            let node = nodes[i]
            return NodeCost(
                name: node.name, type: node.layer.kerasClassName, outputShape: shapes[i],
                params: node.layer.weights.reduce(0) { $0 + $1.count },
                macs: node.layer.macs(inputShapes: inputShapes(ofNode: i), outputShape: shapes[i]))
        }
    }

    /// Total parameters (trainable and not).
    public var parameterCount: Int { nodes.reduce(0) { $0 + $1.layer.weights.reduce(0) { $0 + $1.count } } }

    /// Trainable parameters.
    public var trainableParameterCount: Int {
        nodes.reduce(0) { total, node in
            total + node.layer.weights.prefix(node.layer.trainableWeightCount).reduce(0) { $0 + $1.count }
        }
    }

    /// Multiply-accumulates for one sample.
    public var macCount: Int { costs.reduce(0) { $0 + $1.macs } }
}
