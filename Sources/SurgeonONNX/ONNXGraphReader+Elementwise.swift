import SurgeonCore

/// Activations, BatchNormalization, merges (Add, Mul, ... of two computed tensors), per-channel
/// constants (`x · c + d`, which tf2onnx writes for a BatchNorm after a depthwise conv) and
/// channel concatenation.
extension ONNXGraphReader {
    /// Activation functions by op type, as Keras names them.
    static let activationOps: [String: String] = [
        "Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softplus", "Softsign": "softsign", "Exp": "exponential",
        "HardSwish": "hard_silu", "Mish": "mish", "Selu": "selu", "Elu": "elu", "Gelu": "gelu",
    ]

    mutating func mapActivation(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        let x = try activation(r.input(0), r)
        let name = nodeName(r)
        switch r.op {
        case "Relu":
            try r.checkAttributes([])
            return try emit("ReLU", [:], inputs: [x], name: name, r)
        case "LeakyRelu":
            try r.checkAttributes(["alpha"])
            let alpha = try r.float("alpha", default: 0.01)
            return try emit("LeakyReLU", ["negative_slope": .number(Double(alpha))], inputs: [x], name: name, r)
        case "Clip": return try mapClip(r, x)
        case "HardSigmoid":
            try r.checkAttributes(["alpha", "beta"])
            let alpha = try r.float("alpha", default: 0.2)
            let beta = try r.float("beta", default: 0.5)
            guard abs(alpha - 1.0 / 6) < 1e-6, beta == 0.5 else {
                throw r.fail(
                    "HardSigmoid with alpha \(alpha), beta \(beta) is not supported; surgeon maps alpha 1/6, beta 0.5 "
                        + "(torch's and Keras 3's hard_sigmoid)")
            }
            return try emit("Activation", ["activation": "hard_sigmoid"], inputs: [x], name: name, r)
        case "Elu":
            try r.checkAttributes(["alpha"])
            guard try r.float("alpha", default: 1) == 1 else {
                throw r.fail("only alpha = 1 is supported (Keras's elu)")
            }
        case "Selu":
            try r.checkAttributes(["alpha", "gamma"])
            let alpha = try r.float("alpha", default: 1.67326319217681884765625)
            let gamma = try r.float("gamma", default: 1.05070102214813232421875)
            guard abs(alpha - 1.6732632) < 1e-6, abs(gamma - 1.0507010) < 1e-6 else {
                throw r.fail("only the standard alpha and gamma are supported (Keras's selu)")
            }
        case "Gelu":
            try r.checkAttributes(["approximate"])
            guard try r.string("approximate", default: "none") == "none" else {
                throw r.fail("only approximate = 'none' is supported (Keras's gelu with approximate=False)")
            }
        default:
            try r.checkAttributes([])
        }
        guard let function = Self.activationOps[r.op] else { throw r.fail("not an activation") }
        return try emit("Activation", ["activation": .string(function)], inputs: [x], name: name, r)
    }

    private mutating func mapClip(_ r: ONNXNodeReader, _ x: Activation) throws(ONNXError) -> Activation {
        var low: Float = -.infinity
        var high: Float = .infinity
        if opset < 11 {
            try r.checkAttributes(["min", "max"])
            low = try r.float("min", default: -.greatestFiniteMagnitude)
            high = try r.float("max", default: .greatestFiniteMagnitude)
        } else {
            try r.checkAttributes([])
            if let name = r.input(1) {
                guard let v = try constant(name, r, what: "min").scalar else { throw r.fail("min must be a scalar") }
                low = v
            }
            if let name = r.input(2) {
                guard let v = try constant(name, r, what: "max").scalar else { throw r.fail("max must be a scalar") }
                high = v
            }
        }
        // min(LeakyRelu(x), max): a ReLU with a negative slope and a maximum.
        if low == -.infinity, high.isFinite, let k = nodeIndex(x.node),
            nodes[k].layer.kerasClassName == "LeakyReLU", gateReaders(x.node) == 1,
            let slope = nodes[k].layer.config["negative_slope"]
        {
            do {
                nodes[k].layer = try registry.makeLayer(
                    className: "ReLU",
                    config: LayerConfig(["max_value": .number(Double(high)), "negative_slope": slope]))
            } catch { throw r.fail("\(error)") }
            layerByNode[x.node] = nodes[k].layer
            return x
        }
        guard low == 0 else {
            throw r.fail("Clip(min \(low), max \(high)) is not supported; surgeon maps Clip(0, max) as ReLU(max_value)")
        }
        let config: [String: ConfigValue] =
            high.isFinite && high < Float.greatestFiniteMagnitude ? ["max_value": .number(Double(high))] : [:]
        return try emit("ReLU", config, inputs: [x], name: nodeName(r), r)
    }

    mutating func mapPRelu(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        try r.checkAttributes([])
        let x = try activation(r.input(0), r)
        let slope = try constant(r.input(1), r, what: "slope")
        let channels = x.shape.last ?? 1
        if x.layout == .channelsFirst, slope.count > 1, slope.count != channels {
            // A slope per position too: [C, H|1, W|1], shared over the axes of extent 1.
            let aligned = [Int](repeating: 1, count: max(3 - slope.dims.count, 0)) + slope.dims.suffix(3)
            let full = [channels, x.shape[0], x.shape[1]]
            guard slope.dims.count <= 4, slope.dims.dropLast(3).allSatisfy({ $0 == 1 }),
                zip(aligned, full).allSatisfy({ $0 == 1 || $0 == $1 })
            else { throw r.fail("the slope has shape \(slope.dims), which does not broadcast against \(x.fileShape)") }
            let alphaShape = [aligned[1], aligned[2], aligned[0]]
            let shared = alphaShape.enumerated().filter { $0.element == 1 }.map {
                ConfigValue.number(Double($0.offset + 1))
            }
            let alpha = ArrayTranspose.transpose(slope.floats, dims: aligned, perm: [1, 2, 0])
            return try emit(
                "PReLU", ["shared_axes": shared.isEmpty ? .null : .array(shared)], inputs: [x],
                weights: [try tensor(alpha, alphaShape, r)], name: nodeName(r), r)
        }
        let values = try perChannel(slope, of: x, r, what: "slope")
        if values.count == 1, channels != 1 {
            let shared: ConfigValue = x.shape.count == 3 ? [1, 2, 3] : [1]
            let alphaShape = [Int](repeating: 1, count: x.shape.count)
            return try emit(
                "PReLU", ["shared_axes": shared], inputs: [x], weights: [try tensor(values, alphaShape, r)],
                name: nodeName(r), r)
        }
        let shared: ConfigValue = x.shape.count == 3 ? [1, 2] : .null
        let alphaShape = x.shape.count == 3 ? [1, 1, channels] : [channels]
        return try emit(
            "PReLU", ["shared_axes": shared], inputs: [x], weights: [try tensor(values, alphaShape, r)],
            name: nodeName(r), r)
    }

    /// The values of a constant that broadcasts against `x` per channel only: one value, or one
    /// per channel (`[1, C, 1, 1]`, `[C, 1, 1]` on an NCHW image; `[F]`, `[1, F]` on features).
    func perChannel(_ c: ONNXConstant, of x: Activation, _ r: ONNXNodeReader, what: String) throws(ONNXError) -> [Float]
    {
        if c.count == 1 { return c.floats }
        let fileRank = x.shape.count + 1
        let aligned = [Int](repeating: 1, count: max(fileRank - c.dims.count, 0)) + c.dims
        let channels = x.shape.last ?? 0
        var expected = [Int](repeating: 1, count: fileRank)
        switch x.layout {
        case .channelsFirst: expected[1] = channels
        case .features(nil): expected[fileRank - 1] = channels
        default: break
        }
        guard aligned == expected else {
            throw r.fail(
                "the \(what) has shape \(c.dims); surgeon maps one value or one per channel (\(expected)) on an input "
                    + "of shape \(x.fileShape)")
        }
        return c.floats
    }

    mutating func mapBatchNorm(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        try r.checkAttributes(["epsilon", "momentum", "training_mode", "spatial", "is_test"])
        try requireSingleOutput(r)
        guard try r.int("training_mode", default: 0, in: 0...1) == 0 else {
            throw r.fail("training_mode = 1 is not supported; export the model in inference mode")
        }
        guard try r.int("spatial", default: 1, in: 0...1) == 1 else { throw r.fail("spatial = 0 is not supported") }
        let x = try activation(r.input(0), r)
        guard x.layout == .channelsFirst || x.layout == .features(permutedFrom: nil) else {
            throw r.fail("BatchNormalization on input of shape \(x.fileShape) in this layout is not supported")
        }
        let channels = x.shape.last ?? 0
        var weights: [Tensor] = []
        for (k, what) in ["scale", "B", "input_mean", "input_var"].enumerated() {
            let c = try constant(r.input(k + 1), r, what: what)
            guard c.count == channels else { throw r.fail("\(what) has \(c.count) values; expected \(channels)") }
            weights.append(try tensor(c.floats, [channels], r))
        }
        let epsilon = try r.float("epsilon", default: 1e-5)
        let momentum = try r.float("momentum", default: 0.9)
        return try emit(
            "BatchNormalization",
            [
                "axis": -1, "epsilon": .number(Double(epsilon)), "momentum": .number(Double(momentum)),
                "center": true, "scale": true,
            ], inputs: [x], weights: weights, name: nodeName(r), r)
    }

    /// Add, Sub, Mul, Div, Max, Sum, Mean with at least one computed input.
    mutating func mapArithmetic(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        try r.checkAttributes([])
        let names = r.inputs.filter { !$0.isEmpty }
        var computed: [Activation] = []
        var constants: [(Int, ONNXConstant)] = []
        for (k, name) in names.enumerated() {
            switch try value(name, r) {
            case let .activation(a): computed.append(a)
            case let .constant(c): constants.append((k, c))
            case .shape: throw r.fail("input '\(name)' depends on the batch size")
            case .channelGroups: throw r.fail(Self.channelGroupsMessage(name))
            }
        }
        let name = nodeName(r)
        if constants.isEmpty {
            let className: String
            switch r.op {
            case "Add", "Sum": className = "Add"
            case "Sub": className = "Subtract"
            case "Mul": className = "Multiply"
            case "Max": className = "Maximum"
            case "Mean": className = "Average"
            default: throw r.fail("\(r.op) of two computed tensors is not supported")
            }
            guard computed.count >= 2, Set(computed.map { "\($0.layout)" }).count == 1 else {
                throw r.fail("its inputs have shapes \(computed.map(\.fileShape)) in different layouts")
            }
            if className == "Multiply", let fused = try fusedGatedActivation(r, computed) { return fused }
            return try emit(className, [:], inputs: computed, name: name, r)
        }
        guard computed.count == 1, constants.count == 1, names.count == 2 else {
            throw r.fail("surgeon maps \(r.op) of one computed tensor and one constant, or of computed tensors")
        }
        let (x, (position, c)) = (computed[0], constants[0])
        if r.op == "Add", let fused = try fusedBias(r, x, c) { return fused }
        let values = try perChannel(c, of: x, r, what: "constant operand")
        var scale: [Float] = [1]
        var offset: [Float] = [0]
        switch (r.op, position) {
        case ("Add", _): offset = values
        case ("Sub", 1): offset = values.map { -$0 }
        case ("Sub", _):
            scale = [-1]
            offset = values
        case ("Mul", _): scale = values
        case ("Div", 1): scale = values.map { 1 / $0 }
        default: throw r.fail("\(r.op) with the constant as operand \(position) is not supported")
        }
        if r.op == "Add", let fused = try fusedOffset(x, readerOf: names[1 - position], offset: offset) { return fused }
        func config(_ v: [Float]) -> ConfigValue {
            v.count == 1 ? .number(Double(v[0])) : .array(v.map { .number(Double($0)) })
        }
        return try emit("Rescaling", ["scale": config(scale), "offset": config(offset)], inputs: [x], name: name, r)
    }

    /// `x · Sigmoid(x)` as swish and `x · HardSigmoid(x)` as hard_silu, when the gate is read
    /// only here.
    private mutating func fusedGatedActivation(
        _ r: ONNXNodeReader, _ inputs: [Activation]
    ) throws(ONNXError) -> Activation? {
        guard inputs.count == 2 else { return nil }
        for (gate, x) in [(inputs[1], inputs[0]), (inputs[0], inputs[1])] {
            guard let k = nodeIndex(gate.node), nodes[k].inputs == [x.node],
                let function = nodes[k].layer.config["activation"]?.stringValue,
                nodes[k].layer.kerasClassName == "Activation", function == "sigmoid" || function == "hard_sigmoid",
                gateReaders(gate.node) == 1
            else { continue }
            nodes.remove(at: k)
            layerByNode[gate.node] = nil
            return try emit(
                "Activation", ["activation": .string(function == "sigmoid" ? "swish" : "hard_silu")], inputs: [x],
                name: nodeName(r), r)
        }
        return nil
    }

    /// `MatMul` then `Add` of a bias (tf2onnx's Dense): the bias joins the Dense.
    private mutating func fusedBias(
        _ r: ONNXNodeReader, _ x: Activation, _ c: ONNXConstant
    ) throws(ONNXError) -> Activation? {
        guard let k = nodeIndex(x.node), nodes[k].layer.kerasClassName == "Dense",
            nodes[k].layer.config["use_bias"] == .bool(false), gateReaders(x.node) == 1, c.count == x.shape.last,
            c.dims.count <= 2, let kernel = nodes[k].layer.weights.first
        else { return nil }
        var config = nodes[k].layer.config.values
        config["use_bias"] = true
        var layer: any Layer
        do { layer = try registry.makeLayer(className: "Dense", config: LayerConfig(config)) } catch {
            throw r.fail("\(error)")
        }
        layer.weights = [kernel, try tensor(c.floats, [c.count], r)]
        nodes[k].layer = layer
        layerByNode[x.node] = layer
        return x
    }

    /// `x · c` then `+ d` (tf2onnx's BatchNorm after a depthwise conv): one Rescaling.
    private mutating func fusedOffset(
        _ x: Activation, readerOf _: String, offset: [Float]
    ) throws(ONNXError) -> Activation? {
        guard let k = nodeIndex(x.node), nodes[k].layer.kerasClassName == "Rescaling",
            nodes[k].layer.config["offset"] == .number(0), gateReaders(x.node) == 1
        else { return nil }
        var config = nodes[k].layer.config.values
        config["offset"] = offset.count == 1 ? .number(Double(offset[0])) : .array(offset.map { .number(Double($0)) })
        do { nodes[k].layer = try registry.makeLayer(className: "Rescaling", config: LayerConfig(config)) } catch {
            return nil
        }
        layerByNode[x.node] = nodes[k].layer
        return x
    }

    mutating func mapSoftmax(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        try r.checkAttributes(["axis"])
        let x = try activation(r.input(0), r)
        let rank = x.shape.count + 1
        var axis = try r.int("axis", default: opset >= 13 ? -1 : 1)
        if axis < 0 { axis += rank }
        let channelAxis = x.layout == .channelsFirst ? 1 : rank - 1
        // Before opset 13 Softmax normalises over every axis from `axis` on.
        guard axis == channelAxis, opset >= 13 || axis == rank - 1 else {
            throw r.fail(
                "Softmax over axis \(axis) of an input of shape \(x.fileShape) is not supported; only the channel axis")
        }
        guard x.layout != .channelsLast else { throw r.fail("Softmax on an NHWC tensor is not supported") }
        return try emit("Softmax", ["axis": -1], inputs: [x], name: nodeName(r), r)
    }

    mutating func mapConcat(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        try r.checkAttributes(["axis"])
        var inputs: [Activation] = []
        for name in r.inputs where !name.isEmpty { inputs.append(try activation(name, r)) }
        // A Concat of one input (DenseNet's first dense layer in torch's export) passes it through.
        if inputs.count == 1, let only = inputs.first { return only }
        guard let first = inputs.first, inputs.allSatisfy({ $0.layout == first.layout }) else {
            throw r.fail("its inputs mix layouts")
        }
        let rank = first.shape.count + 1
        var axis = try r.int("axis")
        if axis < 0 { axis += rank }
        let channelAxis = first.layout == .channelsFirst ? 1 : rank - 1
        guard axis == channelAxis, first.layout == .channelsFirst || first.layout == .features(permutedFrom: nil) else {
            throw r.fail(
                "Concat on axis \(axis) of inputs of shape \(first.fileShape) is not supported; only on channels")
        }
        return try emit("Concatenate", ["axis": -1], inputs: inputs, name: nodeName(r), r)
    }
}
