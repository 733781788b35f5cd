import SurgeonCore

/// BatchNorm folded back into the layer before it, for export once training is over (the form
/// torch's ONNX export writes): a BatchNormalization that reads a linear `Conv2D`,
/// `DepthwiseConv2D` or `Dense` whose only reader it is becomes that layer's scaled kernel and
/// bias, `scale = gamma / sqrt(moving_variance + epsilon)`, `kernel' = kernel · scale` per
/// output channel, `bias' = (bias - moving_mean) · scale + beta`. Inference outputs stay the
/// same up to float rounding; training would behave differently (no batch statistics).
public enum BatchNormFolding {
    /// The layer types a BatchNorm folds into. In all of them the output channel is the last
    /// axis of the kernel (`[kh, kw, in / groups, out]`, `[kh, kw, in, multiplier]` read as
    /// `in · multiplier` channels, `[in, units]`).
    public static let foldableTypes: Set<String> = ["Conv2D", "DepthwiseConv2D", "Dense"]

    /// `graph` with every foldable BatchNorm folded; returns the names of the BatchNorms that went.
    /// Layers reading a folded BatchNorm read the layer before it instead.
    public static func folding(
        _ graph: Graph, registry: LayerRegistry = .standard
    ) throws -> (graph: Graph, folded: [String]) {
        let consumers = graph.consumers
        let outputs = Set(graph.outputNames)
        var replaced: [Int: any Layer] = [:]
        var renamed: [String: String] = [:]
        var folded: [String] = []
        for (i, node) in graph.nodes.enumerated() where node.layer.kerasClassName == "BatchNormalization" {
            guard graph.inputIndices[i].count == 1 else { continue }
            let j = graph.inputIndices[i][0]
            let source = graph.nodes[j]
            guard foldableTypes.contains(source.layer.kerasClassName), replaced[j] == nil,
                consumers[j] == [i], !outputs.contains(source.name),
                source.layer.config["activation"]?.stringValue ?? "linear" == "linear",
                let merged = try fold(node.layer, into: source.layer, channels: graph.shapes[j].last ?? 0, registry)
            else { continue }
            replaced[j] = merged
            renamed[node.name] = source.name
            folded.append(node.name)
        }
        guard !folded.isEmpty else { return (graph, []) }
        var nodes: [Node] = []
        for (i, node) in graph.nodes.enumerated() where renamed[node.name] == nil {
            nodes.append(Node(node.name, replaced[i] ?? node.layer, inputs: node.inputs.map { renamed[$0] ?? $0 }))
        }
        let pruned = try Graph(
            nodes: nodes, outputs: graph.outputNames.map { renamed[$0] ?? $0 }, initialization: .refuse)
        return (pruned, folded)
    }

    /// `layer` (kernel first, then an optional bias) with `bn` folded in, or nil when the
    /// weights are not what the fold expects.
    static func fold(
        _ bn: any Layer, into layer: any Layer, channels: Int, _ registry: LayerRegistry
    ) throws -> (any Layer)? {
        let names = bn.weightNames
        func weight(_ key: String, default value: Float) -> [Float]? {
            guard let k = names.firstIndex(of: key) else { return [Float](repeating: value, count: channels) }
            return k < bn.weights.count && bn.weights[k].count == channels ? bn.weights[k].scalars : nil
        }
        let epsilon = try bn.config.double("epsilon", default: 1e-3)
        guard channels > 0, let gamma = weight("gamma", default: 1), let beta = weight("beta", default: 0),
            let mean = weight("moving_mean", default: 0), let variance = weight("moving_variance", default: 1),
            let kernel = layer.weights.first, kernel.count % channels == 0
        else { return nil }
        let hadBias = layer.weights.count > 1
        guard !hadBias || layer.weights[1].count == channels else { return nil }
        let scale = (0..<channels).map { Float(Double(gamma[$0]) / (Double(variance[$0]) + epsilon).squareRoot()) }
        var newKernel = kernel
        for k in 0..<newKernel.count { newKernel.scalars[k] *= scale[k % channels] }
        let oldBias = hadBias ? layer.weights[1].scalars : [Float](repeating: 0, count: channels)
        var newBias = Tensor(shape: [channels])
        for c in 0..<channels { newBias.scalars[c] = (oldBias[c] - mean[c]) * scale[c] + beta[c] }
        var config = layer.config.values
        config["use_bias"] = true
        var merged = try registry.makeLayer(className: layer.kerasClassName, config: LayerConfig(config))
        merged.weights = [newKernel, newBias]
        return merged
    }
}
