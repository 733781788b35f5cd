import SurgeonCore

/// Flatten, Reshape, Squeeze, Transpose (at the border), Pad, Resize, and the Dense forms
/// (Gemm, MatMul). An NCHW flatten orders features `c·H·W + h·W + w`, surgeon's NHWC one
/// `(h·W + w)·C + c`: the features remember the image they came from, and the Dense that reads
/// them gets its kernel rows permuted (ONNX-FORMAT.md 3.3).
extension ONNXGraphReader {
    /// `Shape` of a computed tensor: the batch, then the file's static sizes.
    mutating func mapShape(_ r: ONNXNodeReader) throws(ONNXError) {
        try r.checkAttributes(["start", "end"])
        let x = try activation(r.input(0), r)
        var entries: [ShapeEntry] = [.batch] + x.fileShape.map { .known(Int64($0)) }
        let n = entries.count
        var start = try r.int("start", default: 0)
        var end = try r.int("end", default: n)
        if start < 0 { start += n }
        if end < 0 { end += n }
        start = min(max(start, 0), n)
        end = min(max(end, 0), n)
        entries = start < end ? Array(entries[start..<end]) : []
        try defineInts(r, entries, scalar: false)
    }

    /// Flattens an image into features (Flatten(axis=1), a Reshape to `[N, -1]`, a Squeeze of
    /// H = W = 1).
    mutating func flatten(_ x: Activation, _ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        switch x.layout {
        case .features where x.shape.count == 1: return x
        case .features, .channelsLast:
            return try emit("Flatten", ["data_format": "channels_last"], inputs: [x], name: nodeName(r), r)
        case .channelsFirst:
            // A global pooling read only here becomes one without keepdims.
            if let k = nodeIndex(x.node), gateReaders(x.node) == 1,
                ["GlobalAveragePooling2D", "GlobalMaxPooling2D"].contains(nodes[k].layer.kerasClassName),
                nodes[k].layer.config["keepdims"] == .bool(true)
            {
                var config = nodes[k].layer.config.values
                config["keepdims"] = false
                do {
                    nodes[k].layer = try registry.makeLayer(
                        className: nodes[k].layer.kerasClassName, config: LayerConfig(config))
                } catch { throw r.fail("\(error)") }
                layerByNode[x.node] = nodes[k].layer
                return Activation(node: x.node, shape: [x.shape[2]], layout: .features(permutedFrom: nil))
            }
            let spatial = x.shape[0] * x.shape[1] > 1
            return try emit(
                "Flatten", ["data_format": "channels_last"], inputs: [x], name: nodeName(r),
                layout: .features(permutedFrom: spatial ? x.shape : nil), r)
        }
    }

    mutating func mapFlatten(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        try r.checkAttributes(["axis"])
        let x = try activation(r.input(0), r)
        guard try r.int("axis", default: 1) == 1 else { throw r.fail("only axis = 1 is supported") }
        return try flatten(x, r)
    }

    /// A Reshape's target as the reader compares it: the file's fixed batch size in front read
    /// as the batch, and (unless `allowzero`) each 0 replaced by the input's extent on the same
    /// axis (`inputDims`, batch first).
    func reshapeTarget(
        _ target: [ShapeEntry], of inputDims: [ShapeEntry], _ r: ONNXNodeReader
    ) throws(ONNXError) -> [ShapeEntry] {
        var entries = target
        if let fixedBatch, entries.first == .known(Int64(fixedBatch)) { entries[0] = .batch }
        guard try r.int("allowzero", default: 0, in: 0...1) == 0 else { return entries }
        for (i, e) in entries.enumerated() where e == .known(0) && i < inputDims.count { entries[i] = inputDims[i] }
        return entries
    }

    mutating func mapReshape(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        try r.checkAttributes(["allowzero"])
        let x = try activation(r.input(0), r)
        guard let shapeName = r.input(1), let target = integers(shapeName), !target.scalar else {
            throw r.fail("the target shape must be a constant (or batch-dependent) 1-D integer tensor")
        }
        let features = x.fileShape.reduce(1, *)
        let entries = try reshapeTarget(target.entries, of: [.batch] + x.fileShape.map { .known(Int64($0)) }, r)
        let flattensToFeatures =
            entries.count == 2
            && (entries[0] == .batch || entries[0] == .known(-1))
            && (entries[1] == .known(Int64(features)) || (entries[1] == .known(-1) && entries[0] == .batch))
        if flattensToFeatures { return try flatten(x, r) }
        if x.fileShape == [features], entries.count == 4, entries[0] == .batch || entries[0] == .known(-1),
            entries[1] == .known(Int64(features)), entries[2] == .known(1), entries[3] == .known(1)
        {
            return try emit(
                "Reshape", ["target_shape": [1, 1, .number(Double(features))]], inputs: [x], name: nodeName(r), r)
        }
        // An NHWC reshape (the writer's Transpose-Reshape-Transpose, Keras's Reshape of an image).
        let nhwcSource = x.layout == .channelsLast || x.layout == .features(permutedFrom: nil)
        if nhwcSource, entries.count == 3 || entries.count == 4, entries[0] == .batch || entries[0] == .known(-1),
            let rest = Self.knownInts(Array(entries.dropFirst())), rest.allSatisfy({ $0 >= 1 || $0 == -1 }),
            rest.filter({ $0 == -1 }).count <= 1
        {
            var target = rest.map { Int($0) }
            let known = target.filter { $0 > 0 }.reduce(1, *)
            if let k = target.firstIndex(of: -1), known > 0, features % known == 0 { target[k] = features / known }
            guard target.reduce(1, *) == features else {
                throw r.fail("a Reshape of \(x.fileShape) to \(entries) changes the number of values")
            }
            return try emit(
                "Reshape", ["target_shape": Self.ints(target)], inputs: [x], name: nodeName(r),
                layout: target.count == 3 ? .channelsLast : .features(permutedFrom: nil), r)
        }
        if entries.count == 5, x.layout == .channelsFirst {
            throw r.fail(
                "a Reshape to \(entries) of an image \(x.fileShape): this is the channel shuffle of ShuffleNet "
                    + "(Reshape-Transpose-Reshape), which surgeon does not read yet")
        }
        throw r.fail(
            "a Reshape of \(x.fileShape) to \(entries) is not supported; surgeon maps reshapes that flatten an image "
                + "to [N, features] (or features to [N, C, 1, 1])")
    }

    mutating func mapSqueeze(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        let x = try activation(r.input(0), r)
        var axes = try r.ints("axes", default: [])
        if let name = r.input(1) { axes = (try constant(name, r, what: "axes").ints ?? []).map { Int($0) } }
        let normalized = Set(axes.map { $0 < 0 ? $0 + 4 : $0 })
        guard x.shape.count == 3, x.shape[0] == 1, x.shape[1] == 1, normalized == [2, 3] || axes.isEmpty,
            x.layout == .channelsFirst || x.layout == .channelsLast
        else {
            throw r.fail(
                "surgeon maps Squeeze only of the 1×1 spatial axes of an image, got \(x.fileShape), axes \(axes)")
        }
        if x.layout == .channelsLast, normalized != [1, 2] && !axes.isEmpty {
            throw r.fail("Squeeze axes \(axes) of an NHWC tensor are not its spatial axes")
        }
        return try flatten(x, r)
    }

    mutating func mapUnsqueeze(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        let x = try activation(r.input(0), r)
        var axes = try r.ints("axes", default: [])
        if let name = r.input(1) { axes = (try constant(name, r, what: "axes").ints ?? []).map { Int($0) } }
        guard case .features(nil) = x.layout, Set(axes.map { $0 < 0 ? $0 + 4 : $0 }) == [2, 3] else {
            throw r.fail("surgeon maps Unsqueeze only of features [N, C] to [N, C, 1, 1]")
        }
        return try emit(
            "Reshape", ["target_shape": [1, 1, .number(Double(x.shape[0]))]], inputs: [x], name: nodeName(r), r)
    }

    /// Transposes at the border only: `(0, 3, 1, 2)` of an NHWC input (tf2onnx) and `(0, 2, 3, 1)`
    /// before a flatten.
    mutating func mapTranspose(_ r: ONNXNodeReader) throws(ONNXError) {
        try r.checkAttributes(["perm"])
        let x = try activation(r.input(0), r)
        let perm = try r.ints("perm", default: [3, 2, 1, 0])
        switch (x.layout, perm) {
        case (.channelsLast, [0, 3, 1, 2]):
            try define(r, .activation(Activation(node: x.node, shape: x.shape, layout: .channelsFirst)))
        case (.channelsFirst, [0, 2, 3, 1]):
            try define(r, .activation(Activation(node: x.node, shape: x.shape, layout: .channelsLast)))
        default:
            throw r.fail(
                "Transpose \(perm) of a tensor of shape \(x.fileShape) is not supported; surgeon reads transposes "
                    + "between NHWC and NCHW at the model's input and before a flatten only")
        }
    }

    /// Slice of an image on its spatial axes (constant bounds, step 1): Keras's Cropping2D; on
    /// the channel axis of an image or of features (any positive step): a channel split, a
    /// `ChannelGather`.
    mutating func mapSlice(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        try r.checkAttributes([])
        let source = try activation(r.input(0), r)
        let features = source.layout == .features(permutedFrom: nil) && source.shape.count == 1
        let x = features ? source : try image(r.input(0), r)
        func operand(_ i: Int, _ what: String) throws(ONNXError) -> [Int64]? {
            guard let name = r.input(i) else { return nil }
            guard let ints = try constant(name, r, what: what).ints else {
                throw r.fail("the \(what) must be integers")
            }
            return ints
        }
        guard let starts = try operand(1, "starts"), let ends = try operand(2, "ends") else {
            throw r.fail("Slice needs starts and ends")
        }
        let axes = try operand(3, "axes") ?? (0..<Int64(starts.count)).map { $0 }
        let steps = try operand(4, "steps") ?? starts.map { _ in 1 }
        guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count else {
            throw r.fail("starts, ends, axes and steps differ in length")
        }
        let dims = features ? [x.shape[0], 1, 1] : [x.shape[2], x.shape[0], x.shape[1]]
        let rank = features ? 2 : 4
        var begin = [0, 0, 0]
        var stop = dims
        var channelStep = 1
        for (k, a) in axes.enumerated() {
            let axis = a < 0 ? Int(a) + rank : Int(a)
            guard (1..<rank).contains(axis), steps[k] == 1 || axis == 1 && steps[k] >= 1 else {
                throw r.fail(
                    "Slice on axis \(a) with step \(steps[k]) of a tensor of shape \(x.fileShape) is not supported; "
                        + "surgeon maps step-1 slices of H and W, and slices of C with a positive step")
            }
            let n = Int64(dims[axis - 1])
            func clamp(_ v: Int64) -> Int { Int(min(max(v < 0 ? v + n : v, 0), n)) }
            begin[axis - 1] = clamp(starts[k])
            stop[axis - 1] = clamp(ends[k])
            if axis == 1 { channelStep = Int(clamping: steps[k]) }
        }
        guard begin[1] < stop[1], begin[2] < stop[2] else { throw r.fail("the slice is empty") }
        var y = x
        if !features, begin[1] > 0 || begin[2] > 0 || stop[1] < dims[1] || stop[2] < dims[2] {
            let cropping: ConfigValue = [
                [.number(Double(begin[1])), .number(Double(dims[1] - stop[1]))],
                [.number(Double(begin[2])), .number(Double(dims[2] - stop[2]))],
            ]
            y = try emit(
                "Cropping2D", ["cropping": cropping, "data_format": "channels_last"], inputs: [x], name: nodeName(r), r)
        }
        return try sliceChannels(y, begin: begin[0], end: stop[0], step: channelStep, r)
    }

    mutating func mapPad(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        let x = try image(r.input(0), r)
        let mode = try r.string("mode", default: "constant")
        guard mode == "constant" else { throw r.fail("mode '\(mode)' is not supported; only constant (zero) padding") }
        var pads: [Int]
        var value: Float = 0
        if opset < 11 {
            try r.checkAttributes(["mode", "pads", "value"])
            pads = try r.ints("pads")
            value = try r.float("value", default: 0)
        } else {
            try r.checkAttributes(["mode"])
            pads = (try constant(r.input(1), r, what: "pads").ints ?? []).map { Int(clamping: $0) }
            if let name = r.input(2) { value = try constant(name, r, what: "constant_value").scalar ?? 1 }
            if r.input(3) != nil { throw r.fail("the axes input is not supported") }
        }
        guard value == 0 else { throw r.fail("padding with \(value) is not supported; only zeros") }
        guard pads.count == 8, pads[0] == 0, pads[1] == 0, pads[4] == 0, pads[5] == 0,
            pads.allSatisfy({ (0...OutsideNumber.largestSize).contains($0) })
        else {
            throw r.fail(
                "pads \(pads): surgeon maps non-negative padding of the spatial axes [0, 0, t, l, 0, 0, b, r] only")
        }
        let margins: ConfigValue = [
            [.number(Double(pads[2])), .number(Double(pads[6]))], [.number(Double(pads[3])), .number(Double(pads[7]))],
        ]
        return try emit(
            "ZeroPadding2D", ["padding": margins, "data_format": "channels_last"], inputs: [x], name: nodeName(r), r)
    }

    /// Resize by whole scale factors with nearest neighbours: Keras's UpSampling2D.
    mutating func mapResize(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        try r.checkAttributes([
            "mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a", "exclude_outside",
            "extrapolation_value", "antialias", "keep_aspect_ratio_policy", "axes",
        ])
        let x = try image(r.input(0), r)
        guard try r.string("mode", default: "nearest") == "nearest" else {
            throw r.fail("only mode 'nearest' is supported")
        }
        let scales: [Float]
        if let name = r.input(2), let c = try? constant(name, r, what: "scales"), c.count == 4 {
            scales = c.floats
        } else if let name = r.input(3) {
            let sizes = try constant(name, r, what: "sizes").floats
            guard sizes.count == 4 else { throw r.fail("sizes must have 4 entries") }
            scales = [1, 1, sizes[2] / Float(x.shape[0]), sizes[3] / Float(x.shape[1])]
        } else {
            throw r.fail("Resize needs constant scales or sizes")
        }
        guard scales[0] == 1, scales[1] == 1, scales[2] >= 1, scales[3] >= 1, scales[2] == scales[2].rounded(),
            scales[3] == scales[3].rounded(), scales[2] <= 4096, scales[3] <= 4096
        else { throw r.fail("scales \(scales): surgeon maps whole spatial upsampling factors only") }
        let transform = try r.string("coordinate_transformation_mode", default: "half_pixel")
        let nearest = try r.string("nearest_mode", default: "round_prefer_floor")
        guard
            transform == "asymmetric" && nearest == "floor" || transform == "half_pixel"
                || transform == "pytorch_half_pixel"
        else {
            throw r.fail(
                "coordinate_transformation_mode '\(transform)' with nearest_mode '\(nearest)' is not supported")
        }
        return try emit(
            "UpSampling2D",
            [
                "size": [.number(Double(scales[2])), .number(Double(scales[3]))], "interpolation": "nearest",
                "data_format": "channels_last",
            ],
            inputs: [x], name: nodeName(r), r)
    }

    // MARK: - Dense

    /// `Gemm(A, B, C)`: `alpha · A · B' + beta · C` as a Dense.
    mutating func mapGemm(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        try r.checkAttributes(["alpha", "beta", "transA", "transB"])
        let x = try activation(r.input(0), r)
        guard try r.int("transA", default: 0, in: 0...1) == 0 else { throw r.fail("transA = 1 is not supported") }
        let transB = try r.int("transB", default: 0, in: 0...1) == 1
        let b = try constant(r.input(1), r, what: "weight B")
        let alpha = try r.float("alpha", default: 1)
        let beta = try r.float("beta", default: 1)
        var bias: [Float]?
        if let name = r.input(2) { bias = try constant(name, r, what: "bias C").floats.map { $0 * beta } }
        return try dense(x, b, transposed: transB, scale: alpha, bias: bias, r)
    }

    mutating func mapMatMul(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        try r.checkAttributes([])
        let x = try activation(r.input(0), r)
        let b = try constant(r.input(1), r, what: "weight B")
        return try dense(x, b, transposed: false, scale: 1, bias: nil, r)
    }

    private mutating func dense(
        _ x: Activation, _ b: ONNXConstant, transposed: Bool, scale: Float, bias: [Float]?, _ r: ONNXNodeReader
    ) throws(ONNXError) -> Activation {
        guard case let .features(permutedFrom) = x.layout, x.shape.count == 1 || permutedFrom == nil,
            let inputs = x.shape.last
        else {
            throw r.fail("input of shape \(x.fileShape): surgeon maps \(r.op) on features [N, ..., F] only")
        }
        guard b.dims.count == 2, b.dims[transposed ? 1 : 0] == inputs else {
            throw r.fail("weight B has shape \(b.dims); it does not fit \(inputs) input features")
        }
        let units = b.dims[transposed ? 0 : 1]
        // Kernel rows in the file's feature order.
        var kernel = transposed ? ArrayTranspose.transpose(b.floats, dims: b.dims, perm: [1, 0]) : b.floats
        if scale != 1 { kernel = kernel.map { $0 * scale } }
        if let image = permutedFrom {
            let (h, w, c) = (image[0], image[1], image[2])
            kernel = ArrayTranspose.transpose(kernel, dims: [c, h, w, units], perm: [1, 2, 0, 3])
        }
        var weights = [try tensor(kernel, [inputs, units], r)]
        if let bias {
            let full = bias.count == 1 ? [Float](repeating: bias[0], count: units) : bias
            guard full.count == units else { throw r.fail("bias C has \(bias.count) values; expected \(units)") }
            weights.append(try tensor(full, [units], r))
        }
        return try emit(
            "Dense", ["units": .number(Double(units)), "use_bias": .bool(bias != nil), "activation": "linear"],
            inputs: [Activation(node: x.node, shape: x.shape, layout: .features(permutedFrom: nil))], weights: weights,
            name: nodeName(r), r)
    }
}
