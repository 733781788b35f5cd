import SurgeonCore

/// The ONNX form of each standard layer type, by Keras class name.
extension ONNXGraphWriter {
    /// The layer types the writer maps.
    static let writableTypes: [String] = [
        "Activation", "Add", "Average", "AveragePooling2D", "BatchNormalization", "ChannelGather", "Concatenate",
        "Conv2D",
        "Conv2DTranspose", "Cropping2D", "Dense", "DepthwiseConv2D", "Dropout", "Flatten", "GlobalAveragePooling2D",
        "GlobalMaxPooling2D", "InputLayer", "LeakyReLU", "Maximum", "MaxPooling2D", "Multiply", "Normalization",
        "PReLU", "ReLU", "Rescaling", "Reshape", "SeparableConv2D", "Softmax", "Subtract", "UpSampling2D",
        "ZeroPadding2D",
    ]

    mutating func writeLayer(_ i: Int, output: String, consumers: [Int]) throws(ONNXError) {
        let node = graph.nodes[i]
        let layer = node.layer
        let config = layer.config
        let inputIndices = graph.inputIndices[i]
        let inputs = inputIndices.map { valueNames[$0] }
        let inputShapes = graph.inputShapes(ofNode: i)
        let outShape = graph.shapes[i]
        let name = node.name
        func c<T>(_ body: () throws -> T) throws(ONNXError) -> T {
            do { return try body() } catch { throw fail(i, "\(error)") }
        }
        func permuted(_ k: Int) throws(ONNXError) {
            if permutedFeatures[inputIndices[k]] != nil, layer.kerasClassName != "Dense" {
                throw fail(i, "its input is an NCHW-ordered flatten")
            }
        }
        for k in inputIndices.indices where layer.kerasClassName != "Dense" { try permuted(k) }
        switch layer.kerasClassName {
        case "Conv2D", "DepthwiseConv2D", "SeparableConv2D":
            valueNames[i] = try writeConvolution(i, input: inputs[0], inputShape: inputShapes[0], output: output)
        case "Conv2DTranspose":
            valueNames[i] = try writeTransposedConvolution(
                i, input: inputs[0], inputShape: inputShapes[0], output: output)
        case "Dense":
            valueNames[i] = try writeDense(i, input: inputs[0], inputIndex: inputIndices[0], output: output)
        case "BatchNormalization":
            let channels = outShape.last ?? 0
            let names = layer.weightNames
            func weight(_ key: String, default value: Float) -> [Float] {
                names.firstIndex(of: key).map { layer.weights[$0].scalars }
                    ?? [Float](repeating: value, count: channels)
            }
            let scale = floats("\(name).weight", dims: [channels], weight("gamma", default: 1))
            let bias = floats("\(name).bias", dims: [channels], weight("beta", default: 0))
            let mean = floats("\(name).running_mean", dims: [channels], weight("moving_mean", default: 0))
            let variance = floats("\(name).running_var", dims: [channels], weight("moving_variance", default: 1))
            let epsilon = try c { try config.double("epsilon", default: 1e-3) }
            let momentum = try c { try config.double("momentum", default: 0.99) }
            valueNames[i] = add(
                "BatchNormalization", name: name, inputs: [inputs[0], scale, bias, mean, variance], output: output,
                attributes: [
                    ONNXProto.attribute("epsilon", float: Float(epsilon)),
                    ONNXProto.attribute("momentum", float: Float(momentum)),
                ])
        case "Activation":
            let function = try c { try config.string("activation") }
            valueNames[i] = try activation(
                function, i, input: inputs[0], shape: outShape, output: output, finalName: name)
        case "ReLU":
            let maxValue = try c { try config.optionalDouble("max_value") }
            let slope = try c { try config.double("negative_slope", default: 0) }
            let threshold = try c { try config.double("threshold", default: 0) }
            if threshold != 0 {
                // ThresholdedRelu keeps x > t (Keras: x >= t; they differ only at x = t exactly).
                guard slope == 0 else { throw fail(i, "ReLU with both threshold and negative_slope has no ONNX form") }
                guard let maxValue else {
                    valueNames[i] = add(
                        "ThresholdedRelu", name: name, inputs: inputs, output: output,
                        attributes: [ONNXProto.attribute("alpha", float: Float(threshold))])
                    break
                }
                let cut = add(
                    "ThresholdedRelu", name: name, inputs: inputs,
                    attributes: [ONNXProto.attribute("alpha", float: Float(threshold))])
                valueNames[i] = clip("\(name)/Clip", cut, max: Float(maxValue), output: output)
            } else if slope != 0, let maxValue {
                // min(LeakyRelu(x), max), read back as one ReLU.
                let leaky = add(
                    "LeakyRelu", name: name, inputs: inputs,
                    attributes: [ONNXProto.attribute("alpha", float: Float(slope))])
                let high = floats("\(name)/max", dims: [], [Float(maxValue)])
                valueNames[i] = add("Clip", name: "\(name)/Clip", inputs: [leaky, "", high], output: output)
            } else if slope != 0 {
                valueNames[i] = add(
                    "LeakyRelu", name: name, inputs: inputs, output: output,
                    attributes: [ONNXProto.attribute("alpha", float: Float(slope))])
            } else if let maxValue {
                valueNames[i] = clip(name, inputs[0], max: Float(maxValue), output: output)
            } else {
                valueNames[i] = add("Relu", name: name, inputs: inputs, output: output)
            }
        case "LeakyReLU":
            let slope = try c { try config.double("negative_slope", default: 0.3) }
            valueNames[i] = add(
                "LeakyRelu", name: name, inputs: inputs, output: output,
                attributes: [ONNXProto.attribute("alpha", float: Float(slope))])
        case "PReLU":
            let alpha = layer.weights[0]
            let slope: String
            if alpha.rank == 3 {
                let dims = [alpha.shape[2], alpha.shape[0], alpha.shape[1]]
                slope = floats(
                    "\(name).weight", dims: dims,
                    ArrayTranspose.transpose(alpha.scalars, dims: alpha.shape, perm: [2, 0, 1]))
            } else {
                slope = floats("\(name).weight", dims: alpha.shape, alpha.scalars)
            }
            valueNames[i] = add("PRelu", name: name, inputs: [inputs[0], slope], output: output)
        case "Softmax":
            valueNames[i] = add(
                "Softmax", name: name, inputs: inputs, output: output,
                attributes: [ONNXProto.attribute("axis", int: outShape.count == 3 ? 1 : -1)])
        case "MaxPooling2D", "AveragePooling2D":
            valueNames[i] = try writePool(i, input: inputs[0], inputShape: inputShapes[0], output: output)
        case "GlobalAveragePooling2D", "GlobalMaxPooling2D":
            let keep = try c { try config.bool("keepdims", default: false) }
            let op = layer.kerasClassName == "GlobalAveragePooling2D" ? "GlobalAveragePool" : "GlobalMaxPool"
            if keep {
                valueNames[i] = add(op, name: name, inputs: inputs, output: output)
            } else {
                let pooled = add(op, name: name, inputs: inputs)
                valueNames[i] = add(
                    "Flatten", name: "\(name)/Flatten", inputs: [pooled], output: output,
                    attributes: [ONNXProto.attribute("axis", int: 1)])
            }
        case "Flatten":
            valueNames[i] = writeFlatten(
                i, input: inputs[0], inputShape: inputShapes[0], consumers: consumers, output: output)
        case "Reshape":
            valueNames[i] = writeReshape(i, input: inputs[0], inputShape: inputShapes[0], output: output)
        case "Dropout":
            valueNames[i] = add("Identity", name: name, inputs: inputs, output: output)
        case "ZeroPadding2D":
            let margins = try paddingMargins(i, inputShape: inputShapes[0], outputShape: outShape)
            let pads = ints("\(name)/pads", [0, 0, margins.top, margins.left, 0, 0, margins.bottom, margins.right])
            valueNames[i] = add(
                "Pad", name: name, inputs: [inputs[0], pads], output: output,
                attributes: [ONNXProto.attribute("mode", string: "constant")])
        case "Cropping2D":
            let margins = try paddingMargins(i, inputShape: inputShapes[0], outputShape: outShape)
            let (h, w) = (inputShapes[0][0], inputShapes[0][1])
            let starts = ints("\(name)/starts", [margins.top, margins.left])
            let ends = ints("\(name)/ends", [h - margins.bottom, w - margins.right])
            let axes = ints("\(name)/axes", [2, 3])
            valueNames[i] = add("Slice", name: name, inputs: [inputs[0], starts, ends, axes], output: output)
        case "UpSampling2D":
            let (sh, sw) = (outShape[0] / max(inputShapes[0][0], 1), outShape[1] / max(inputShapes[0][1], 1))
            let scales = floats("\(name)/scales", dims: [4], [1, 1, Float(sh), Float(sw)])
            valueNames[i] = add(
                "Resize", name: name, inputs: [inputs[0], "", scales], output: output,
                attributes: [
                    ONNXProto.attribute("mode", string: "nearest"),
                    ONNXProto.attribute("coordinate_transformation_mode", string: "asymmetric"),
                    ONNXProto.attribute("nearest_mode", string: "floor"),
                ])
        case "Add", "Subtract", "Multiply", "Maximum", "Average":
            valueNames[i] = writeMerge(i, inputs: inputs, output: output)
        case "Concatenate":
            valueNames[i] = add(
                "Concat", name: name, inputs: inputs, output: output, attributes: [ONNXProto.attribute("axis", int: 1)])
        case "ChannelGather":
            valueNames[i] = try writeChannelGather(i, input: inputs[0], inputShape: inputShapes[0], output: output)
        case "Rescaling", "Normalization":
            valueNames[i] = try writeAffine(i, input: inputs[0], shape: outShape, output: output)
        default:
            throw fail(
                i,
                "surgeon has no ONNX form for this layer type; it writes: "
                    + Self.writableTypes.joined(separator: ", "))
        }
    }

    /// The margins a padding or cropping layer adds or removes, from its config.
    private func paddingMargins(
        _ i: Int, inputShape: Shape, outputShape: Shape
    ) throws(ONNXError) -> (top: Int, bottom: Int, left: Int, right: Int) {
        guard
            case let .array(rows)? = graph.nodes[i].layer.config["padding"] ?? graph.nodes[i].layer.config["cropping"],
            rows.count == 2, case let .array(v)? = rows.first, case let .array(hz)? = rows.last, v.count == 2,
            hz.count == 2, let t = v[0].intValue, let b = v[1].intValue, let l = hz[0].intValue, let r = hz[1].intValue
        else { throw fail(i, "its margins are not ((top, bottom), (left, right))") }
        return (t, b, l, r)
    }

    /// Clip(x, 0, max): ReLU6 and relatives.
    mutating func clip(_ name: String, _ input: String, max: Float, output: String) -> String {
        let low = floats("\(name)/min", dims: [], [0])
        let high = floats("\(name)/max", dims: [], [max])
        return add("Clip", name: name, inputs: [input, low, high], output: output)
    }

    /// A Keras activation function as ONNX nodes; `output` names the last one.
    /// `finalName` names the last node (an Activation layer's own node); a fused activation's
    /// nodes are named after the layer and the op.
    mutating func activation(
        _ function: String, _ i: Int, input: String, shape: Shape, output: String?, finalName: String? = nil
    ) throws(ONNXError) -> String {
        let name = graph.nodes[i].name
        func last(_ op: String) -> String { finalName ?? "\(name)/\(op)" }
        func one(_ op: String, _ attributes: [Onnx_AttributeProto] = []) -> String {
            add(op, name: last(op), inputs: [input], output: output, attributes: attributes)
        }
        switch function {
        case "linear":
            return output.map { add("Identity", name: last("Identity"), inputs: [input], output: $0) } ?? input
        case "relu": return one("Relu")
        case "relu6": return clip(last("Clip"), input, max: 6, output: output ?? uniqueValue("\(name)/Clip_output_0"))
        case "sigmoid": return one("Sigmoid")
        case "tanh": return one("Tanh")
        case "softplus": return one("Softplus")
        case "softsign": return one("Softsign")
        case "exponential": return one("Exp")
        case "elu": return one("Elu", [ONNXProto.attribute("alpha", float: 1)])
        case "selu":
            return one(
                "Selu",
                [
                    ONNXProto.attribute("alpha", float: 1.67326319217681884765625),
                    ONNXProto.attribute("gamma", float: 1.05070102214813232421875),
                ])
        case "hard_sigmoid":
            return one(
                "HardSigmoid", [ONNXProto.attribute("alpha", float: 1.0 / 6), ONNXProto.attribute("beta", float: 0.5)])
        case "hard_silu", "hard_swish": return one("HardSwish")
        case "leaky_relu": return one("LeakyRelu", [ONNXProto.attribute("alpha", float: 0.2)])
        case "softmax": return one("Softmax", [ONNXProto.attribute("axis", int: shape.count == 3 ? 1 : -1)])
        case "swish", "silu":
            let gate = add("Sigmoid", name: "\(name)/Sigmoid", inputs: [input])
            return add("Mul", name: last("Mul"), inputs: [input, gate], output: output)
        case "mish": return one("Mish")  // opset 18 (`opset(for:)`)
        case "gelu": return one("Gelu", [ONNXProto.attribute("approximate", string: "none")])  // opset 20
        default:
            throw fail(i, "the activation '\(function)' has no ONNX form in surgeon")
        }
    }

    private mutating func writeMerge(_ i: Int, inputs: [String], output: String) -> String {
        let name = graph.nodes[i].name
        switch graph.nodes[i].layer.kerasClassName {
        case "Add" where inputs.count == 2: return add("Add", name: name, inputs: inputs, output: output)
        case "Add": return add("Sum", name: name, inputs: inputs, output: output)
        case "Subtract": return add("Sub", name: name, inputs: inputs, output: output)
        case "Maximum": return add("Max", name: name, inputs: inputs, output: output)
        case "Average": return add("Mean", name: name, inputs: inputs, output: output)
        default:
            var value = inputs[0]
            for (k, next) in inputs.dropFirst().enumerated() {
                let last = k == inputs.count - 2
                value = add(
                    "Mul", name: k == 0 ? name : "\(name)/Mul_\(k)", inputs: [value, next], output: last ? output : nil)
            }
            return value
        }
    }

    /// Rescaling (`x · scale + offset`) and Normalization (`(x − mean) / std`) as Mul and Add.
    private mutating func writeAffine(_ i: Int, input: String, shape: Shape, output: String) throws(ONNXError) -> String
    {
        let layer = graph.nodes[i].layer
        let name = graph.nodes[i].name
        let channels = shape.last ?? 1
        var scale: [Float]
        var shift: [Float]
        func values(_ key: String) throws(ONNXError) -> [Float] {
            switch layer.config[key] {
            case let .number(d)?: return [Float(d)]
            case let .array(items)?: return items.compactMap { if case let .number(d) = $0 { Float(d) } else { nil } }
            default: throw fail(i, "'\(key)' is not a number or a list of numbers")
            }
        }
        if layer.kerasClassName == "Rescaling" {
            scale = try values("scale")
            shift = try values("offset")
        } else {
            let mean: [Float]
            let variance: [Float]
            if layer.weights.count >= 2 {
                mean = layer.weights[0].scalars
                variance = layer.weights[1].scalars
            } else {
                mean = try values("mean")
                variance = try values("variance")
            }
            scale = variance.map { 1 / max($0.squareRoot(), 1e-7) }
            if scale.count == 1, mean.count > 1 { scale = Array(repeating: scale[0], count: mean.count) }
            shift = mean.indices.map { -mean[$0] * scale[scale.count == 1 ? 0 : $0] }
        }
        guard [1, channels].contains(scale.count), [1, channels].contains(shift.count) else {
            throw fail(i, "its per-channel values do not match \(channels) channels")
        }
        let s = channelConstant("\(name)/scale", scale, like: shape)
        let o = channelConstant("\(name)/offset", shift, like: shape)
        let scaled = add("Mul", name: name, inputs: [input, s])
        return add("Add", name: "\(name)/Add", inputs: [scaled, o], output: output)
    }

    /// Flatten: NCHW order when every reader is a Dense (its kernel rows are permuted to
    /// match, torch's form); otherwise NHWC order through a Transpose (tf2onnx's form).
    private mutating func writeFlatten(
        _ i: Int, input: String, inputShape: Shape, consumers: [Int], output: String
    ) -> String {
        let name = graph.nodes[i].name
        let flatten = ONNXProto.attribute("axis", int: 1)
        guard inputShape.count == 3, inputShape[0] * inputShape[1] > 1 else {
            return add("Flatten", name: name, inputs: [input], output: output, attributes: [flatten])
        }
        let denseOnly = !consumers.isEmpty && consumers.allSatisfy { graph.nodes[$0].layer.kerasClassName == "Dense" }
        if denseOnly {
            permutedFeatures[i] = inputShape
            return add("Flatten", name: name, inputs: [input], output: output, attributes: [flatten])
        }
        let nhwc = add(
            "Transpose", name: "\(name)/Transpose", inputs: [input],
            attributes: [ONNXProto.attribute("perm", ints: [0, 2, 3, 1])])
        return add("Flatten", name: name, inputs: [nhwc], output: output, attributes: [flatten])
    }

    /// Reshape in NHWC order: the image is transposed to NHWC first, and an image result back.
    private mutating func writeReshape(_ i: Int, input: String, inputShape: Shape, output: String) -> String {
        let name = graph.nodes[i].name
        let target = graph.shapes[i]
        var value = input
        if inputShape.count == 3, inputShape[0] * inputShape[1] > 1 {
            value = add(
                "Transpose", name: "\(name)/Transpose", inputs: [value],
                attributes: [ONNXProto.attribute("perm", ints: [0, 2, 3, 1])])
        }
        let imageOut = target.count == 3 && target[0] * target[1] > 1
        let fileTarget = target.count == 3 && !imageOut ? [0, target[2], 1, 1] : [0] + target
        let shape = ints("\(name)/shape", fileTarget)
        if !imageOut { return add("Reshape", name: name, inputs: [value, shape], output: output) }
        let reshaped = add("Reshape", name: name, inputs: [value, shape])
        return add(
            "Transpose", name: "\(name)/Transpose_1", inputs: [reshaped], output: output,
            attributes: [ONNXProto.attribute("perm", ints: [0, 3, 1, 2])])
    }
}
