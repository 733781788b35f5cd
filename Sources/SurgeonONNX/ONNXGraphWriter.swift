import SurgeonCore

/// Writes surgeon's NHWC graph as an NCHW ONNX graph (ONNX-FORMAT.md 0 and 3.4): opset 17,
/// weights as FLOAT initializers in `raw_data`, explicit pads, BatchNormalization kept as a
/// node, the batch as a `dim_param`. A model read from ONNX keeps its input and output names,
/// input layout and batch dimension. Every layer type of the standard set has a mapping; any
/// other is refused by name.
struct ONNXGraphWriter {
    /// Opset 17 (ONNX-FORMAT.md 1.2), or the first opset with Mish (18) or Gelu (20) when the
    /// graph uses them.
    static func opset(for graph: Graph) -> Int {
        let functions = Set(graph.nodes.compactMap { $0.layer.config["activation"]?.stringValue })
        return functions.contains("gelu") ? 20 : functions.contains("mish") ? 18 : 17
    }

    /// The lowest IR version that carries `opset` (onnx's release table).
    static func irVersion(for opset: Int) -> Int { opset >= 19 ? 9 : 8 }

    let graph: Graph
    let path: String
    let origin: ONNXOrigin?

    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []
    /// The file's value name of each surgeon node's output.
    var valueNames: [String] = []
    /// Surgeon nodes whose output the file holds as NCHW-ordered features of an image `[H, W, C]`
    /// (a Flatten read only by Dense layers, whose kernels are permuted to match).
    var permutedFeatures: [Int: Shape] = [:]
    private var usedNodeNames = UniqueNames()
    private var usedValueNames = UniqueNames()

    init(graph: Graph, path: String, origin: ONNXOrigin?) {
        self.graph = graph
        self.path = path
        self.origin = origin
    }

    func fail(_ i: Int, _ message: String) -> ONNXError {
        .layer(path: path, layer: graph.nodes[i].name, type: graph.nodes[i].layer.kerasClassName, message: message)
    }

    /// A value name not used before, starting from `wanted`.
    mutating func uniqueValue(_ wanted: String) -> String {
        usedValueNames.claim(wanted)
    }

    /// Adds a node; its name is made unique, and so are the names of its outputs when not given.
    @discardableResult
    mutating func add(
        _ op: String, name: String, inputs: [String], output: String? = nil,
        attributes: [Onnx_AttributeProto] = []
    ) -> String {
        let nodeName = usedNodeNames.claim(name)
        let out = output ?? uniqueValue(nodeName + "_output_0")
        var node = Onnx_NodeProto()
        node.opType = op
        node.name = nodeName
        node.input = inputs
        node.output = [out]
        node.attribute = attributes
        nodes.append(node)
        return out
    }

    mutating func floats(_ name: String, dims: [Int], _ values: [Float]) -> String {
        let unique = uniqueValue(name)
        initializers.append(ONNXProto.tensor(unique, dims: dims, floats: values))
        return unique
    }

    mutating func ints(_ name: String, _ values: [Int]) -> String {
        let unique = uniqueValue(name)
        initializers.append(ONNXProto.tensor(unique, dims: [values.count], ints: values))
        return unique
    }

    /// A per-channel constant shaped to broadcast against the file's layout of a tensor of
    /// surgeon shape `shape` (`[1, C, 1, 1]` for an image, `[C]` for features), or a scalar.
    mutating func channelConstant(_ name: String, _ values: [Float], like shape: Shape) -> String {
        if values.count == 1 { return floats(name, dims: [], values) }
        return floats(name, dims: shape.count == 3 ? [1, values.count, 1, 1] : [values.count], values)
    }

    var batch: ONNXProto.Batch {
        if let value = origin?.batchValue { return .fixed(value) }
        return .parameter(origin?.batchParameter ?? "N")
    }

    /// Output `k`'s batch dimension: the input's, or the file's own name for it.
    func outputBatch(_ k: Int) -> ONNXProto.Batch {
        guard origin?.batchValue == nil, let params = origin?.outputBatchParameters,
            params.count == graph.outputNodeIndices.count, let name = params[k]
        else { return batch }
        return .parameter(name)
    }

    /// The file's dims (batch left out) of a surgeon per-sample shape.
    static func fileDims(_ shape: Shape) -> [Int] {
        shape.count == 3 ? [shape[2], shape[0], shape[1]] : shape
    }

    /// The whole graph.
    mutating func write() throws(ONNXError) -> Onnx_GraphProto {
        let outputIndices = graph.outputNodeIndices
        var outputName: [Int: String] = [:]
        for (k, i) in outputIndices.enumerated() {
            let names = origin?.outputNames ?? []
            outputName[i] = k < names.count && names.count == outputIndices.count ? names[k] : graph.nodes[i].name
        }
        for name in outputName.values { usedValueNames.reserve(name) }
        var inputs: [Onnx_ValueInfoProto] = []
        valueNames = Array(repeating: "", count: graph.nodes.count)
        let consumers = graph.consumers
        for i in graph.nodes.indices {
            let node = graph.nodes[i]
            if node.inputs.isEmpty {
                inputs.append(try writeInput(i))
                continue
            }
            let final = outputName[i] ?? uniqueValue(node.name)
            try writeLayer(i, output: final, consumers: consumers[i])
        }
        var g = Onnx_GraphProto()
        g.name = origin?.graphName.isEmpty == false ? origin?.graphName ?? "surgeon" : "surgeon"
        g.node = nodes
        g.initializer = initializers
        g.input = inputs
        g.output = outputIndices.enumerated().map { k, i in
            ONNXProto.valueInfo(valueNames[i], batch: outputBatch(k), dims: Self.fileDims(graph.shapes[i]))
        }
        return g
    }

    private mutating func writeInput(_ i: Int) throws(ONNXError) -> Onnx_ValueInfoProto {
        let shape = graph.shapes[i]
        guard shape.count == 3 else {
            throw fail(i, "surgeon writes ONNX models whose input is an image [H, W, C]; this one is \(shape)")
        }
        let name = graph.inputNodeIndices.count == 1 ? (origin?.inputName ?? graph.nodes[i].name) : graph.nodes[i].name
        usedValueNames.reserve(name)
        if origin?.inputLayout == "NHWC" {
            valueNames[i] = add(
                "Transpose", name: "\(name)/Transpose", inputs: [name],
                attributes: [ONNXProto.attribute("perm", ints: [0, 3, 1, 2])])
            return ONNXProto.valueInfo(name, batch: batch, dims: shape)
        }
        valueNames[i] = name
        return ONNXProto.valueInfo(name, batch: batch, dims: Self.fileDims(shape))
    }
}
