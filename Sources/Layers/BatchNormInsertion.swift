import SurgeonCore

/// BatchNorm given back to a model whose exporter folded it into the convolutions (torch's
/// ONNX export does): Network Slimming's `l1-gamma` sparsity and the `bn-gamma` criterion
/// need a gamma per channel. Each convolution whose output no BatchNormalization reads gets
/// one, initialised to the identity — gamma 1, beta 0, moving mean 0 and a moving variance
/// that makes `variance + epsilon` exactly 1 in float32 — so the outputs are bit for bit what
/// they were until training changes it.
public enum BatchNormInsertion {
    /// The layer types that get a BatchNorm after them.
    public static let convolutionTypes: Set<String> = [
        "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose",
    ]

    /// Torch's and ONNX's convention (Keras's default is 0.99): moving statistics that catch up
    /// within a short fine-tuning.
    public static let momentum: Float = 0.9
    public static let epsilon: Float = 1e-3

    /// `graph` with an identity BatchNorm after every linear convolution that is not a graph
    /// output and whose output goes to anything but a single BatchNormalization; returns the
    /// names of the convolutions that got one.
    public static func inserting(into graph: Graph) throws -> (graph: Graph, added: [String]) {
        let consumers = graph.consumers
        let outputs = Set(graph.outputNames)
        var nodes: [Node] = []
        var renamed: [String: String] = [:]
        var added: [String] = []
        var names = Set(graph.nodes.map(\.name))
        for (i, node) in graph.nodes.enumerated() {
            var copy = node
            copy.inputs = node.inputs.map { renamed[$0] ?? $0 }
            nodes.append(copy)
            let readers = consumers[i].map { graph.nodes[$0].layer.kerasClassName }
            guard convolutionTypes.contains(node.layer.kerasClassName), !outputs.contains(node.name),
                node.layer.config["activation"]?.stringValue ?? "linear" == "linear",
                readers != ["BatchNormalization"], !readers.isEmpty
            else { continue }
            var name = "\(node.name)/BatchNormalization"
            while names.contains(name) { name += "_" }
            names.insert(name)
            let channels = graph.shapes[i].last ?? 1
            var bn: any Layer = BatchNormalization(epsilon: epsilon, momentum: momentum)
            bn.weights = [
                Tensor(shape: [channels], repeating: 1), Tensor(shape: [channels]), Tensor(shape: [channels]),
                Tensor(shape: [channels], repeating: unitVariance(epsilon: epsilon)),
            ]
            nodes.append(Node(name, bn, inputs: [node.name]))
            renamed[node.name] = name
            added.append(node.name)
        }
        return (try Graph(nodes: nodes, outputs: graph.outputNames, initialization: .refuse), added)
    }

    /// The float32 `v` closest to `1 - epsilon` with `v + epsilon == 1` exactly.
    public static func unitVariance(epsilon: Float) -> Float {
        var v = 1 - epsilon
        while v + epsilon > 1 { v = v.nextDown }
        while v + epsilon < 1 { v = v.nextUp }
        return v
    }
}
