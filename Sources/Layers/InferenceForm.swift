import SurgeonCore

/// A graph rewritten for prediction only, computing the same outputs in fewer passes over
/// memory: every foldable BatchNormalization folded into the layer before it
/// (`BatchNormFolding`), then every ReLU or ReLU6 that is the only reader of a linear Conv2D,
/// DepthwiseConv2D or Dense fused into that layer's `activation`, which the convolution applies
/// in the pass that writes its output. Not for training: the BatchNorms' batch statistics are
/// gone.
public enum InferenceForm {
    /// The layer types an activation fuses into.
    public static let fusableProducers: Set<String> = ["Conv2D", "DepthwiseConv2D", "Dense"]

    /// `graph` in its inference form (the graph itself when nothing folds or fuses), with a
    /// `KernelLayoutCache` of its own, so that its convolutions reorder their kernels once.
    public static func prepared(_ graph: Graph, registry: LayerRegistry = .standard) throws -> Graph {
        var prepared = try fusingActivations(
            try BatchNormFolding.folding(graph, registry: registry).graph, registry: registry)
        prepared.kernelLayouts = KernelLayoutCache()
        return prepared
    }

    /// `graph` with every fusable rectifier merged into its producer.
    static func fusingActivations(_ graph: Graph, registry: LayerRegistry) throws -> Graph {
        let consumers = graph.consumers
        let outputs = Set(graph.outputNames)
        var replaced: [Int: any Layer] = [:]
        var renamed: [String: String] = [:]
        for (i, node) in graph.nodes.enumerated() {
            guard let function = rectifier(node.layer), graph.inputIndices[i].count == 1 else { continue }
            let j = graph.inputIndices[i][0]
            let source = graph.nodes[j]
            guard fusableProducers.contains(source.layer.kerasClassName), replaced[j] == nil, consumers[j] == [i],
                !outputs.contains(source.name), source.layer.config["activation"]?.stringValue == "linear"
            else { continue }
            var config = source.layer.config.values
            config["activation"] = .string(function.rawValue)
            var merged = try registry.makeLayer(className: source.layer.kerasClassName, config: LayerConfig(config))
            merged.weights = source.layer.weights
            replaced[j] = merged
            renamed[node.name] = source.name
        }
        guard !renamed.isEmpty else { return graph }
        var nodes: [Node] = []
        for (i, node) in graph.nodes.enumerated() where renamed[node.name] == nil {
            nodes.append(Node(node.name, replaced[i] ?? node.layer, inputs: node.inputs.map { renamed[$0] ?? $0 }))
        }
        return try Graph(nodes: nodes, outputs: graph.outputNames.map { renamed[$0] ?? $0 }, initialization: .refuse)
    }

    /// `relu` or `relu6` when `layer` computes exactly that activation, else nil.
    static func rectifier(_ layer: any Layer) -> ActivationFunction? {
        if let relu = layer as? ReLU, relu.negativeSlope == 0, relu.threshold == 0 {
            switch relu.maxValue {
            case nil: return .relu
            case 6: return .relu6
            default: return nil
            }
        }
        if let activation = layer as? Activation, [.relu, .relu6].contains(activation.function) {
            return activation.function
        }
        return nil
    }
}
