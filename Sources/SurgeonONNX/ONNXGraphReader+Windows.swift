import SurgeonCore

/// Conv, MaxPool, AveragePool and the global poolings: OIHW kernels become Keras's HWIO, and
/// explicit pads become `valid`, `same` or a ZeroPadding2D before a `valid` window.
extension ONNXGraphReader {
    /// The window attributes of a Conv or pooling node on an input of `[H, W]`.
    struct Window {
        var kernel: [Int]
        var strides: [Int]
        var dilations: [Int]
        var pads: [Int]

        func axes(input: [Int]) -> (ONNXWindowPadding.Axis, ONNXWindowPadding.Axis) {
            (
                .init(
                    input: input[0], kernel: kernel[0], stride: strides[0], dilation: dilations[0], begin: pads[0],
                    end: pads[2]),
                .init(
                    input: input[1], kernel: kernel[1], stride: strides[1], dilation: dilations[1], begin: pads[1],
                    end: pads[3])
            )
        }
    }

    func window(_ r: ONNXNodeReader, kernel: [Int]?, input: [Int]) throws(ONNXError) -> Window {
        let size = try r.ints("kernel_shape", default: kernel, in: 1...OutsideNumber.largestSize)
        if let kernel, size != kernel {
            throw r.fail("kernel_shape \(size) disagrees with the weight's spatial size \(kernel)")
        }
        guard size.count == 2 else { throw r.fail("kernel_shape \(size): surgeon maps 2-D windows only") }
        let strides = try r.ints("strides", default: [1, 1], in: 1...OutsideNumber.largestSize)
        let dilations = try r.ints("dilations", default: [1, 1], in: 1...OutsideNumber.largestSize)
        guard strides.count == 2, dilations.count == 2 else {
            throw r.fail("strides \(strides) and dilations \(dilations) must have 2 entries")
        }
        var pads = try r.ints("pads", default: [0, 0, 0, 0], in: 0...OutsideNumber.largestSize)
        guard pads.count == 4 else { throw r.fail("pads \(pads) must have 4 entries [top, left, bottom, right]") }
        let mode = try r.string("auto_pad", default: "NOTSET")
        if mode != "NOTSET" {
            guard !r.has("pads") else { throw r.fail("pads and auto_pad '\(mode)' are both given") }
            var w = Window(kernel: size, strides: strides, dilations: dilations, pads: pads)
            let (h, wd) = w.axes(input: input)
            guard let auto = ONNXWindowPadding.autoPads(mode, height: h, width: wd) else {
                throw r.fail("auto_pad '\(mode)' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID")
            }
            w.pads = auto
            pads = auto
        }
        return Window(kernel: size, strides: strides, dilations: dilations, pads: pads)
    }

    /// The input to a window layer and its Keras padding: a ZeroPadding2D is added first when
    /// the pads are neither `valid` nor `same`.
    mutating func paddedInput(
        _ x: Activation, _ w: Window, ceilMode: Bool, name: String, _ r: ONNXNodeReader
    ) throws(ONNXError) -> (Activation, String) {
        let (h, wd) = w.axes(input: [x.shape[0], x.shape[1]])
        guard h.outputSize(ceilMode: ceilMode) > 0, wd.outputSize(ceilMode: ceilMode) > 0 else {
            throw r.fail(
                "the window \(w.kernel) (dilations \(w.dilations)) does not fit the input \(x.fileShape) with pads "
                    + "\(w.pads)")
        }
        switch ONNXWindowPadding(height: h, width: wd, ceilMode: ceilMode) {
        case .valid: return (x, "valid")
        case .same: return (x, "same")
        case let .explicit(top, bottom, left, right):
            let margins: ConfigValue = [
                [.number(Double(top)), .number(Double(bottom))], [.number(Double(left)), .number(Double(right))],
            ]
            let padded = try emit(
                "ZeroPadding2D", ["padding": margins, "data_format": "channels_last"], inputs: [x],
                name: name + "/pad", added: true, r)
            return (padded, "valid")
        }
    }

    static func ints(_ values: [Int]) -> ConfigValue { .array(values.map { .number(Double($0)) }) }

    mutating func mapConv(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        try r.checkAttributes(["kernel_shape", "strides", "dilations", "group", "pads", "auto_pad"])
        let x = try image(r.input(0), r)
        let w = try constant(r.input(1), r, what: "weight W")
        guard w.dims.count == 4 else { throw r.fail("weight W has shape \(w.dims); expected [M, C/group, kH, kW]") }
        let (m, cg, kh, kw) = (w.dims[0], w.dims[1], w.dims[2], w.dims[3])
        let channels = x.shape[2]
        let group = try r.int("group", default: 1, in: 1...OutsideNumber.largestSize)
        guard cg * group == channels, m % group == 0 else {
            throw r.fail(
                "the input has \(channels) channels but W [\(m), \(cg), \(kh), \(kw)] with group \(group) expects "
                    + "\(cg * group) (and M divisible by group)")
        }
        var bias: ONNXConstant?
        if let b = r.input(2) {
            let c = try constant(b, r, what: "bias B")
            guard c.count == m else { throw r.fail("bias B has \(c.count) values; expected \(m)") }
            bias = c
        }
        let win = try window(r, kernel: [kh, kw], input: [x.shape[0], x.shape[1]])
        let name = nodeName(r)
        let (input, padding) = try paddedInput(x, win, ceilMode: false, name: name, r)
        var config: [String: ConfigValue] = [
            "kernel_size": Self.ints(win.kernel), "strides": Self.ints(win.strides), "padding": .string(padding),
            "dilation_rate": Self.ints(win.dilations), "use_bias": .bool(bias != nil), "activation": "linear",
            "data_format": "channels_last",
        ]
        let kernel: Tensor
        let className: String
        if group > 1, cg == 1 {
            // Depthwise: output channel i·m + k reads input channel i.
            let multiplier = m / channels
            className = "DepthwiseConv2D"
            config["depth_multiplier"] = .number(Double(multiplier))
            kernel = try tensor(
                ArrayTranspose.transpose(w.floats, dims: [channels, multiplier, kh, kw], perm: [2, 3, 0, 1]),
                [kh, kw, channels, multiplier], r)
        } else {
            className = "Conv2D"
            config["filters"] = .number(Double(m))
            config["groups"] = .number(Double(group))
            kernel = try tensor(
                ArrayTranspose.transpose(w.floats, dims: w.dims, perm: [2, 3, 1, 0]), [kh, kw, cg, m], r)
        }
        var weights = [kernel]
        if let bias { weights.append(try tensor(bias.floats, [m], r)) }
        return try emit(className, config, inputs: [input], weights: weights, name: name, r)
    }

    mutating func mapConvTranspose(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        try r.checkAttributes(["kernel_shape", "strides", "dilations", "group", "pads", "auto_pad", "output_padding"])
        let x = try image(r.input(0), r)
        let w = try constant(r.input(1), r, what: "weight W")
        guard w.dims.count == 4, w.dims[0] == x.shape[2] else {
            throw r.fail("weight W has shape \(w.dims); expected [\(x.shape[2]), M, kH, kW]")
        }
        guard try r.int("group", default: 1) == 1 else { throw r.fail("grouped ConvTranspose is not supported") }
        let (m, kh, kw) = (w.dims[1], w.dims[2], w.dims[3])
        let win = try window(r, kernel: [kh, kw], input: [x.shape[0], x.shape[1]])
        let outputPadding = try r.ints("output_padding", default: [0, 0], in: 0...OutsideNumber.largestSize)
        // Keras's Conv2DTranspose: `valid` keeps the whole output, `same` (output I·s) crops
        // the k - s extra rows with the odd one at the end.
        // Each axis may fit both (k = s, or k < s with output_padding s - k); both axes must fit one.
        var modes: Set<String> = ["valid", "same"]
        for axis in 0..<2 {
            let eff = (win.kernel[axis] - 1) * win.dilations[axis] + 1
            let s = win.strides[axis]
            let (begin, end, extra) = (win.pads[axis], win.pads[axis + 2], outputPadding[axis])
            var fits: Set<String> = []
            if begin == 0, end == 0, extra == max(s - eff, 0) { fits.insert("valid") }
            if eff >= s, begin == (eff - s) / 2, end == eff - s - begin, extra == 0 { fits.insert("same") }
            if eff < s, begin == 0, end == 0, extra == s - eff { fits.insert("same") }
            modes.formIntersection(fits)
        }
        let padding: String
        if modes.contains("same") {
            padding = "same"
        } else if modes.contains("valid") {
            padding = "valid"
        } else {
            throw r.fail(
                "pads \(win.pads) with output_padding \(outputPadding) match neither Keras's 'valid' nor 'same' on both axes"
            )
        }
        var bias: ONNXConstant?
        if let b = r.input(2) {
            let c = try constant(b, r, what: "bias B")
            guard c.count == m else { throw r.fail("bias B has \(c.count) values; expected \(m)") }
            bias = c
        }
        let kernel = try tensor(
            ArrayTranspose.transpose(w.floats, dims: w.dims, perm: [2, 3, 1, 0]), [kh, kw, m, x.shape[2]], r)
        var weights = [kernel]
        if let bias { weights.append(try tensor(bias.floats, [m], r)) }
        let config: [String: ConfigValue] = [
            "filters": .number(Double(m)), "kernel_size": Self.ints(win.kernel), "strides": Self.ints(win.strides),
            "padding": .string(padding), "dilation_rate": Self.ints(win.dilations),
            "use_bias": .bool(bias != nil), "activation": "linear", "data_format": "channels_last",
        ]
        return try emit("Conv2DTranspose", config, inputs: [x], weights: weights, name: nodeName(r), r)
    }

    mutating func mapPool(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        let isMax = r.op == "MaxPool"
        try r.checkAttributes(
            isMax
                ? ["kernel_shape", "strides", "pads", "auto_pad", "ceil_mode", "dilations", "storage_order"]
                : ["kernel_shape", "strides", "pads", "auto_pad", "ceil_mode", "count_include_pad", "dilations"])
        try requireSingleOutput(r)
        let x = try image(r.input(0), r)
        let win = try window(r, kernel: nil, input: [x.shape[0], x.shape[1]])
        guard win.dilations == [1, 1] else { throw r.fail("dilations \(win.dilations) are not supported for pooling") }
        let ceilMode = try r.int("ceil_mode", default: 0, in: 0...1) == 1
        let (h, w) = win.axes(input: [x.shape[0], x.shape[1]])
        let padding = ONNXWindowPadding(height: h, width: w, ceilMode: ceilMode)
        let name = nodeName(r)
        if case .explicit = padding {
            let beyond = h.usedEnd(ceilMode: ceilMode) > h.end || w.usedEnd(ceilMode: ceilMode) > w.end
            if isMax {
                // MaxPool pads are -inf; zeros are the same only for inputs that are never negative.
                guard layerByNode[x.node]?.rectifiesOutput == true else {
                    throw r.fail(
                        "pads \(win.pads)\(ceilMode ? " with ceil_mode" : "") match neither Keras 'valid' nor 'same', "
                            + "and its input can be negative (not after a ReLU), so zero padding would change it")
                }
            } else {
                let includePad = try r.int("count_include_pad", default: 0, in: 0...1) == 1
                guard includePad, !beyond else {
                    throw r.fail(
                        "pads \(win.pads) with count_include_pad = \(includePad ? 1 : 0)\(ceilMode ? " and ceil_mode" : "") "
                            + "match neither Keras 'valid' nor 'same'")
                }
            }
        } else if padding == .same, !isMax, try r.int("count_include_pad", default: 0, in: 0...1) == 1,
            win.pads != [0, 0, 0, 0]
        {
            // Keras's 'same' average excludes the padding; counting it is zero padding + 'valid'.
            let margins: ConfigValue = [
                [.number(Double(win.pads[0])), .number(Double(win.pads[2]))],
                [.number(Double(win.pads[1])), .number(Double(win.pads[3]))],
            ]
            let padded = try emit(
                "ZeroPadding2D", ["padding": margins, "data_format": "channels_last"], inputs: [x],
                name: name + "/pad", added: true, r)
            return try emit(
                "AveragePooling2D",
                ["pool_size": Self.ints(win.kernel), "strides": Self.ints(win.strides), "padding": "valid"],
                inputs: [padded], name: name, r)
        }
        let (input, keras) = try paddedInput(x, win, ceilMode: ceilMode, name: name, r)
        return try emit(
            isMax ? "MaxPooling2D" : "AveragePooling2D",
            [
                "pool_size": Self.ints(win.kernel), "strides": Self.ints(win.strides), "padding": .string(keras),
                "data_format": "channels_last",
            ], inputs: [input], name: name, r)
    }

    /// GlobalAveragePool / GlobalMaxPool (keepdims), and ReduceMean / ReduceMax over H and W.
    mutating func mapGlobalPool(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        let x = try image(r.input(0), r)
        var keepdims = true
        var isMax = r.op == "GlobalMaxPool"
        if r.op.hasPrefix("Reduce") {
            isMax = r.op == "ReduceMax"
            try r.checkAttributes(["axes", "keepdims", "noop_with_empty_axes"])
            keepdims = try r.int("keepdims", default: 1, in: 0...1) == 1
            var axes = try r.ints("axes", default: [])
            if let name = r.input(1) { axes = (try constant(name, r, what: "axes").ints ?? []).map { Int($0) } }
            guard Set(axes.map { $0 < 0 ? $0 + 4 : $0 }) == [2, 3] else {
                throw r.fail("axes \(axes): surgeon maps \(r.op) over the spatial axes [2, 3] only")
            }
        } else {
            try r.checkAttributes([])
        }
        return try emit(
            isMax ? "GlobalMaxPooling2D" : "GlobalAveragePooling2D",
            ["keepdims": .bool(keepdims), "data_format": "channels_last"], inputs: [x], name: nodeName(r), r)
    }

    func tensor(_ values: [Float], _ shape: [Int], _ r: ONNXNodeReader) throws(ONNXError) -> Tensor {
        do { return try Tensor(shape: shape, scalars: values) } catch { throw r.fail("\(error)") }
    }
}
