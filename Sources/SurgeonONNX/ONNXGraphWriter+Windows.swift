import SurgeonCore

/// Convolutions, pooling and Dense: HWIO kernels transposed to OIHW, Keras `same` written as
/// the explicit pads it means (the odd pixel at the end), fused activations as nodes after.
extension ONNXGraphWriter {
    struct WindowAttributes {
        var kernel: [Int]
        var strides: [Int]
        var dilations: [Int]
        var padding: String
    }

    func windowAttributes(_ i: Int, sizeKey: String) throws(ONNXError) -> WindowAttributes {
        let config = graph.nodes[i].layer.config
        do {
            let kernel = try config.ints(sizeKey, count: 2)
            return WindowAttributes(
                kernel: kernel,
                strides: try config.ints("strides", count: 2, default: sizeKey == "pool_size" ? kernel : [1, 1]),
                dilations: try config.ints("dilation_rate", count: 2, default: [1, 1]),
                padding: try config.string("padding", default: "valid"))
        } catch { throw fail(i, "\(error)") }
    }

    /// `[top, left, bottom, right]` for the window on `input` `[H, W]` giving `output`.
    static func pads(_ w: WindowAttributes, input: Shape, output: Shape) -> [Int] {
        guard w.padding == "same" else { return [0, 0, 0, 0] }
        var begin = [0, 0]
        var end = [0, 0]
        for axis in 0..<2 {
            let eff = (w.kernel[axis] - 1) * w.dilations[axis] + 1
            let total = max((output[axis] - 1) * w.strides[axis] + eff - input[axis], 0)
            begin[axis] = total / 2
            end[axis] = total - total / 2
        }
        return [begin[0], begin[1], end[0], end[1]]
    }

    func windowNodeAttributes(_ w: WindowAttributes, pads: [Int], dilations: Bool = true) -> [Onnx_AttributeProto] {
        var a = [
            ONNXProto.attribute("kernel_shape", ints: w.kernel), ONNXProto.attribute("strides", ints: w.strides),
            ONNXProto.attribute("pads", ints: pads),
        ]
        if dilations { a.append(ONNXProto.attribute("dilations", ints: w.dilations)) }
        return a
    }

    /// Layer `i`'s fused activation (`linear` when it has none).
    func fusedActivation(_ i: Int) -> String {
        (try? graph.nodes[i].layer.config.string("activation", default: "linear")) ?? "linear"
    }

    /// A depthwise kernel `[kh, kw, C, m]` as the ONNX weight `[C·m, 1, kh, kw]`.
    mutating func depthwiseWeight(_ name: String, _ kernel: Tensor) -> String {
        let s = kernel.shape
        return floats(
            name, dims: [s[2] * s[3], 1, s[0], s[1]],
            ArrayTranspose.transpose(kernel.scalars, dims: s, perm: [2, 3, 0, 1]))
    }

    mutating func writeConvolution(
        _ i: Int, input: String, inputShape: Shape, output: String
    ) throws(ONNXError) -> String {
        let layer = graph.nodes[i].layer
        let name = graph.nodes[i].name
        let outShape = graph.shapes[i]
        let w = try windowAttributes(i, sizeKey: "kernel_size")
        let function = fusedActivation(i)
        let pads = Self.pads(w, input: inputShape, output: outShape)
        let (kh, kw) = (w.kernel[0], w.kernel[1])
        let channels = inputShape[2]
        let convOutput = function == "linear" ? output : nil
        let result: String
        switch layer.kerasClassName {
        case "Conv2D":
            let kernel = layer.weights[0]
            let (cg, m) = (kernel.shape[2], kernel.shape[3])
            let weight = floats(
                "\(name).weight", dims: [m, cg, kh, kw],
                ArrayTranspose.transpose(kernel.scalars, dims: kernel.shape, perm: [3, 2, 0, 1]))
            var inputs = [input, weight]
            if layer.weights.count > 1 { inputs.append(floats("\(name).bias", dims: [m], layer.weights[1].scalars)) }
            result = add(
                "Conv", name: name, inputs: inputs, output: convOutput,
                attributes: windowNodeAttributes(w, pads: pads) + [ONNXProto.attribute("group", int: channels / cg)])
        case "DepthwiseConv2D":
            let kernel = layer.weights[0]
            let m = kernel.shape[3]
            let weight = depthwiseWeight("\(name).weight", kernel)
            var inputs = [input, weight]
            if layer.weights.count > 1 {
                inputs.append(floats("\(name).bias", dims: [channels * m], layer.weights[1].scalars))
            }
            result = add(
                "Conv", name: name, inputs: inputs, output: convOutput,
                attributes: windowNodeAttributes(w, pads: pads) + [ONNXProto.attribute("group", int: channels)])
        default:
            // SeparableConv2D: a depthwise conv without bias, then a pointwise conv.
            let depthwise = layer.weights[0]
            let pointwise = layer.weights[1]
            let m = depthwise.shape[3]
            let out = pointwise.shape[3]
            let dw = depthwiseWeight("\(name).depthwise.weight", depthwise)
            let spatial = add(
                "Conv", name: "\(name)/depthwise", inputs: [input, dw],
                attributes: windowNodeAttributes(w, pads: pads) + [ONNXProto.attribute("group", int: channels)])
            let pw = floats(
                "\(name).pointwise.weight", dims: [out, channels * m, 1, 1],
                ArrayTranspose.transpose(pointwise.scalars, dims: pointwise.shape, perm: [3, 2, 0, 1]))
            var inputs = [spatial, pw]
            if layer.weights.count > 2 { inputs.append(floats("\(name).bias", dims: [out], layer.weights[2].scalars)) }
            result = add(
                "Conv", name: name, inputs: inputs, output: convOutput,
                attributes: [
                    ONNXProto.attribute("kernel_shape", ints: [1, 1]), ONNXProto.attribute("strides", ints: [1, 1]),
                    ONNXProto.attribute("pads", ints: [0, 0, 0, 0]),
                ])
        }
        return function == "linear"
            ? result : try activation(function, i, input: result, shape: outShape, output: output)
    }

    mutating func writeTransposedConvolution(
        _ i: Int, input: String, inputShape: Shape, output: String
    ) throws(ONNXError) -> String {
        let layer = graph.nodes[i].layer
        let name = graph.nodes[i].name
        let outShape = graph.shapes[i]
        let w = try windowAttributes(i, sizeKey: "kernel_size")
        let function = fusedActivation(i)
        var begin = [0, 0]
        var end = [0, 0]
        var extra = [0, 0]
        for axis in 0..<2 {
            let eff = (w.kernel[axis] - 1) * w.dilations[axis] + 1
            let s = w.strides[axis]
            // ONNX: O = s·(I − 1) + output_padding + eff − begin − end.
            let full = s * (inputShape[axis] - 1) + eff
            let crop = full - outShape[axis]
            if crop >= 0 {
                begin[axis] = w.padding == "same" ? crop / 2 : 0
                end[axis] = crop - begin[axis]
            } else {
                extra[axis] = -crop
            }
        }
        let kernel = layer.weights[0]
        let (m, cin) = (kernel.shape[2], kernel.shape[3])
        let weight = floats(
            "\(name).weight", dims: [cin, m, w.kernel[0], w.kernel[1]],
            ArrayTranspose.transpose(kernel.scalars, dims: kernel.shape, perm: [3, 2, 0, 1]))
        var inputs = [input, weight]
        if layer.weights.count > 1 { inputs.append(floats("\(name).bias", dims: [m], layer.weights[1].scalars)) }
        let result = add(
            "ConvTranspose", name: name, inputs: inputs, output: function == "linear" ? output : nil,
            attributes: windowNodeAttributes(w, pads: [begin[0], begin[1], end[0], end[1]])
                + [ONNXProto.attribute("output_padding", ints: extra)])
        return function == "linear"
            ? result : try activation(function, i, input: result, shape: outShape, output: output)
    }

    mutating func writePool(_ i: Int, input: String, inputShape: Shape, output: String) throws(ONNXError) -> String {
        let w = try windowAttributes(i, sizeKey: "pool_size")
        let pads = Self.pads(w, input: inputShape, output: graph.shapes[i])
        let isMax = graph.nodes[i].layer.kerasClassName == "MaxPooling2D"
        var attributes = windowNodeAttributes(w, pads: pads, dilations: false)
        // Keras's 'same' average leaves the padding out of the mean.
        if !isMax { attributes.append(ONNXProto.attribute("count_include_pad", int: 0)) }
        return add(
            isMax ? "MaxPool" : "AveragePool", name: graph.nodes[i].name, inputs: [input], output: output,
            attributes: attributes)
    }

    /// Dense on features as Gemm (`transB = 1`, torch's form), its kernel rows permuted when its
    /// input is an NCHW-ordered flatten; Dense on an image acts on the channels, through NHWC.
    mutating func writeDense(_ i: Int, input: String, inputIndex: Int, output: String) throws(ONNXError) -> String {
        let layer = graph.nodes[i].layer
        let name = graph.nodes[i].name
        let outShape = graph.shapes[i]
        let kernel = layer.weights[0]
        let (features, units) = (kernel.shape[0], kernel.shape[1])
        let function = fusedActivation(i)
        var rows = kernel.scalars
        if let image = permutedFeatures[inputIndex] {
            // Internal row (h·W + w)·C + c holds file row c·H·W + h·W + w.
            rows = ArrayTranspose.transpose(rows, dims: [image[0], image[1], image[2], units], perm: [2, 0, 1, 3])
        }
        let bias = layer.weights.count > 1 ? layer.weights[1].scalars : nil
        let linearOutput = function == "linear" ? output : nil
        let result: String
        if outShape.count == 1 {
            let b = floats(
                "\(name).weight", dims: [units, features],
                ArrayTranspose.transpose(rows, dims: [features, units], perm: [1, 0]))
            var inputs = [input, b]
            if let bias { inputs.append(floats("\(name).bias", dims: [units], bias)) }
            result = add(
                "Gemm", name: name, inputs: inputs, output: linearOutput,
                attributes: [
                    ONNXProto.attribute("alpha", float: 1), ONNXProto.attribute("beta", float: 1),
                    ONNXProto.attribute("transB", int: 1),
                ])
        } else if outShape.count == 2 {
            // Per-sample [L, F]: MatMul acts on the last axis as Dense does.
            let b = floats("\(name).weight", dims: [features, units], rows)
            let value = add("MatMul", name: name, inputs: [input, b], output: bias == nil ? linearOutput : nil)
            result =
                bias.map {
                    add(
                        "Add", name: "\(name)/Add", inputs: [value, floats("\(name).bias", dims: [units], $0)],
                        output: linearOutput)
                } ?? value
        } else {
            guard outShape.count == 3 else { throw fail(i, "Dense on a tensor of shape \(outShape) has no ONNX form") }
            let nhwc = add(
                "Transpose", name: "\(name)/Transpose", inputs: [input],
                attributes: [ONNXProto.attribute("perm", ints: [0, 2, 3, 1])])
            let b = floats("\(name).weight", dims: [features, units], rows)
            var value = add("MatMul", name: name, inputs: [nhwc, b])
            if let bias {
                value = add("Add", name: "\(name)/Add", inputs: [value, floats("\(name).bias", dims: [units], bias)])
            }
            result = add(
                "Transpose", name: "\(name)/Transpose_1", inputs: [value], output: linearOutput,
                attributes: [ONNXProto.attribute("perm", ints: [0, 3, 1, 2])])
        }
        return function == "linear"
            ? result : try activation(function, i, input: result, shape: outShape, output: output)
    }
}
