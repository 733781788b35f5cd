import SurgeonCore

/// Walks the graph: the data input, the nodes in topological order, the outputs.
extension ONNXGraphReader {
    /// Every op type surgeon reads (some only in the forms their mapping names).
    static let supportedOps: [String] =
        ([
            "Conv", "ConvTranspose", "BatchNormalization", "Relu", "LeakyRelu", "PRelu", "Clip", "HardSigmoid",
            "Softmax", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceMax",
            "ThresholdedRelu", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Gemm", "MatMul", "Add",
            "Sub", "Mul", "Div",
            "Max", "Sum", "Mean", "Concat", "Pad", "Resize", "Dropout", "Identity", "Shape", "Gather", "Slice", "Split",
            "Cast", "Constant",
        ] + activationOps.keys).sorted()

    /// What one file tells the writer about the model's border.
    struct Border {
        var inputName: String
        var inputLayout: Activation.Layout
        /// The batch dimension as the file declares it: a `dim_param`, or nil.
        var batchParameter: String?
        /// A fixed batch size, when the file declares one.
        var batchValue: Int?
        /// Output names of the file and the surgeon node each is.
        var outputs: [(name: String, node: String, layout: Activation.Layout)]
    }

    /// Reads the data input: exactly one FLOAT rank-4 input besides initializers, with static
    /// channel and spatial sizes.
    mutating func readInput(_ graph: Onnx_GraphProto, initializers: Set<String>) throws(ONNXError) -> Border {
        let data = graph.input.filter { !initializers.contains($0.name) }
        guard data.count == 1, let input = data.first else {
            throw ONNXError.model(
                path: path,
                message:
                    "the graph has \(data.count) data inputs (\(data.map(\.name).joined(separator: ", "))); surgeon "
                    + "reads models with exactly one image input")
        }
        func fail(_ message: String) -> ONNXError {
            .model(path: path, message: "graph input '\(input.name)': \(message)")
        }
        guard case .tensorType(let type)? = input.type.value else { throw fail("it is not a tensor") }
        guard type.elemType == 1 else {
            throw fail("its element type is \(ONNXTensorDecoder.typeName(type.elemType)); surgeon reads FLOAT inputs")
        }
        guard type.hasShape, type.shape.dim.count == 4 else {
            throw fail(
                "its shape has rank \(type.hasShape ? "\(type.shape.dim.count)" : "unknown"); surgeon reads images "
                    + "[N, C, H, W] (or [N, H, W, C] before a Transpose)")
        }
        var sizes: [Int] = []
        for (k, d) in type.shape.dim.enumerated().dropFirst() {
            guard case .dimValue(let v)? = d.value, v >= 1, v <= Int64(OutsideNumber.largestSize) else {
                let what = d.value.map { "\($0)" } ?? "unknown"
                throw fail(
                    "dimension \(k) is \(what); surgeon needs static channel and spatial sizes (dynamic spatial sizes "
                        + "are not supported: export with a fixed input size)")
            }
            sizes.append(Int(v))
        }
        var border = Border(inputName: input.name, inputLayout: .channelsFirst, outputs: [])
        switch type.shape.dim[0].value {
        case .dimParam(let p)?: border.batchParameter = p
        case .dimValue(let v)? where v >= 1 && v <= Int64(OutsideNumber.largestSize):
            border.batchValue = Int(v)
            fixedBatch = Int(v)
        case nil: break
        default: throw fail("its batch dimension is \(type.shape.dim[0]); expected a positive size or a name")
        }
        // tf2onnx keeps the input NHWC and transposes it to NCHW right away.
        let readers = graph.node.filter { $0.input.contains(input.name) }
        let nhwc =
            !readers.isEmpty
            && readers.allSatisfy { node in
                node.opType == "Transpose" && node.attribute.first { $0.name == "perm" }?.ints == [0, 3, 1, 2]
            }
        let shape = nhwc ? sizes : [sizes[1], sizes[2], sizes[0]]
        border.inputLayout = nhwc ? .channelsLast : .channelsFirst
        let name = uniqueName(input.name)
        var layer: any Layer
        do {
            layer = try registry.makeLayer(
                className: "InputLayer",
                config: LayerConfig(["batch_shape": .array([.null] + shape.map { .number(Double($0)) })]))
        } catch { throw fail("\(error)") }
        layer.weights = []
        nodes.append(Node(name, layer, inputs: []))
        layerByNode[name] = layer
        record(input.name, .activation(Activation(node: name, shape: shape, layout: border.inputLayout)))
        return border
    }

    /// Maps one node: folds it, aliases it, or adds its layer(s).
    mutating func map(_ r: ONNXNodeReader) throws(ONNXError) {
        guard r.node.domain.isEmpty || r.node.domain == "ai.onnx" else {
            throw r.fail("the domain '\(r.node.domain)' is not supported; surgeon reads the standard ai.onnx operators")
        }
        for a in r.node.attribute where a.type == .graph || a.type == .graphs || a.hasG || !a.graphs.isEmpty {
            throw r.fail("attribute '\(a.name)' holds a subgraph (control flow), which surgeon does not read")
        }
        if Self.foldingOps.contains(r.op), r.op == "Constant" || allConstant(r) {
            if try fold(r) { return }
        }
        let output: Activation
        switch r.op {
        case "Identity":
            try define(r, try value(r.input(0) ?? "", r))
            return
        case "Dropout":
            try requireSingleOutput(r)
            if opset >= 12, let name = r.input(2) {
                let training = try constant(name, r, what: "training_mode")
                guard training.floats.allSatisfy({ $0 == 0 }) else {
                    throw r.fail("training_mode is true; export the model in inference mode")
                }
            }
            try define(r, try value(r.input(0) ?? "", r))
            return
        case "Shape":
            try mapShape(r)
            return
        case "Transpose":
            if try mapChannelShuffleTranspose(r) { return }
            try mapTranspose(r)
            return
        case "Split":
            try mapSplit(r)
            return
        case "Reshape" where try mapChannelShuffleReshape(r):
            return
        case "Conv": output = try mapConv(r)
        case "ConvTranspose": output = try mapConvTranspose(r)
        case "MaxPool", "AveragePool": output = try mapPool(r)
        case "GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceMax": output = try mapGlobalPool(r)
        case "BatchNormalization": output = try mapBatchNorm(r)
        case "PRelu": output = try mapPRelu(r)
        case "Relu", "LeakyRelu", "Clip", "HardSigmoid": output = try mapActivation(r)
        case _ where Self.activationOps[r.op] != nil: output = try mapActivation(r)
        case "Softmax": output = try mapSoftmax(r)
        case "Add", "Sub", "Mul", "Div", "Max", "Sum", "Mean": output = try mapArithmetic(r)
        case "Concat": output = try mapConcat(r)
        case "Flatten": output = try mapFlatten(r)
        case "Reshape": output = try mapReshape(r)
        case "Squeeze": output = try mapSqueeze(r)
        case "Unsqueeze": output = try mapUnsqueeze(r)
        case "Gemm": output = try mapGemm(r)
        case "MatMul": output = try mapMatMul(r)
        case "Pad": output = try mapPad(r)
        case "Resize", "Upsample": output = try mapResize(r)
        case "Slice": output = try mapSlice(r)
        case "ThresholdedRelu":
            try r.checkAttributes(["alpha"])
            let threshold = try r.float("alpha", default: 1)
            output = try emit(
                "ReLU", ["threshold": .number(Double(threshold))], inputs: [try activation(r.input(0), r)],
                name: nodeName(r), r)
        case "Gather": output = try mapChannelGather(r)
        default:
            throw r.fail(
                "the op \(r.op) is not supported; surgeon reads: \(Self.supportedOps.joined(separator: ", "))")
        }
        try define(r, .activation(output))
    }

    /// The nodes in an order where every input is defined first (the file's order where it is
    /// already sorted); a cycle or an input defined nowhere is refused.
    static func sorted(_ graph: Onnx_GraphProto, defined: Set<String>, path: String) throws(ONNXError) -> [Int] {
        var producer: [String: Int] = [:]
        for (i, node) in graph.node.enumerated() {
            for name in node.output where !name.isEmpty {
                guard producer[name] == nil, !defined.contains(name) else {
                    throw ONNXError.model(
                        path: path, message: "the value '\(name)' is defined twice (the graph is not in SSA form)")
                }
                producer[name] = i
            }
        }
        var waiting = [Int](repeating: 0, count: graph.node.count)
        var dependents = [[Int]](repeating: [], count: graph.node.count)
        for (i, node) in graph.node.enumerated() {
            for name in Set(node.input) where !name.isEmpty {
                if let p = producer[name] {
                    waiting[i] += 1
                    dependents[p].append(i)
                } else if !defined.contains(name) {
                    let nodeName = node.name.isEmpty ? "\(node.opType) #\(i)" : node.name
                    throw ONNXError.model(
                        path: path,
                        message:
                            "node '\(nodeName)' (\(node.opType)) reads '\(name)', which is not a graph input, an "
                            + "initializer or the output of a node")
                }
            }
        }
        var ready = Array((0..<graph.node.count).filter { waiting[$0] == 0 }.reversed())
        var order: [Int] = []
        while let i = ready.popLast() {
            order.append(i)
            for d in dependents[i].reversed() {
                waiting[d] -= 1
                if waiting[d] == 0 { ready.append(d) }
            }
        }
        guard order.count == graph.node.count else {
            throw ONNXError.model(path: path, message: "the graph has a cycle")
        }
        return order
    }
}
