import SurgeonCore

/// Keras `GlobalAveragePooling2D`: the mean over height and width of each channel,
/// `[H, W, C] -> [C]`, or `[1, 1, C]` with `keepdims` (MobileNet's head). Only `channels_last`.
/// MACs: one add per input element.
public struct GlobalAveragePooling2D: Layer {
    public static let kerasClassName = "GlobalAveragePooling2D"
    /// True for a `[1, 1, C]` output, false for `[C]`.
    public let keepdims: Bool
    public var weights: [Tensor] = []

    public init(keepdims: Bool = false) { self.keepdims = keepdims }

    public init(config: LayerConfig) throws {
        keepdims = try readGlobalPoolingConfig(config)
    }

    public var config: LayerConfig { globalPoolingConfig(keepdims) }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        try globalPoolingOutputShape(inputShapes, keepdims: keepdims, layer: Self.kerasClassName)
    }

    public func macs(inputShapes: [Shape], outputShape: Shape) -> Int {
        inputShapes.first?.reduce(1, *) ?? 0
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let (n, pixels, c) = try globalPoolingDimensions(x, layer: Self.kerasClassName)
        var y = Tensor(shape: [n, c])
        guard n > 0 else { return LayerOutput(try y.reshaped(pooledShape(n, c, keepdims))) }
        let inverse = 1 / Float(pixels)
        x.scalars.withUnsafeBufferPointer { xb in
            y.scalars.withUnsafeMutableBufferPointer { yb in
                let xp = xb.baseAddress!, yp = yb.baseAddress!
                Compute.parallelChunks(n) { samples in
                    for s in samples {
                        let out = yp + s * c
                        var src = xp + s * pixels * c
                        for _ in 0..<pixels {
                            for j in 0..<c { out[j] += src[j] }
                            src += c
                        }
                        for j in 0..<c { out[j] *= inverse }
                    }
                }
            }
        }
        return LayerOutput(try y.reshaped(pooledShape(n, c, keepdims)))
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        let (n, pixels, c) = try globalPoolingDimensions(x, layer: Self.kerasClassName)
        try checkGradientShape(outputGradient, pooledShape(n, c, keepdims), layer: Self.kerasClassName)
        var dx = Tensor(shape: x.shape)
        guard n > 0 else { return LayerGradients(inputs: [dx]) }
        let inverse = 1 / Float(pixels)
        dx.scalars.withUnsafeMutableBufferPointer { dxb in
            outputGradient.scalars.withUnsafeBufferPointer { gyb in
                let gx = dxb.baseAddress!, gy = gyb.baseAddress!
                for s in 0..<n {
                    let go = gy + s * c
                    var dst = gx + s * pixels * c
                    for _ in 0..<pixels {
                        for j in 0..<c { dst[j] = go[j] * inverse }
                        dst += c
                    }
                }
            }
        }
        return LayerGradients(inputs: [dx])
    }
}

/// Keras `GlobalMaxPooling2D`: the maximum over height and width of each channel,
/// `[H, W, C] -> [C]` (or `[1, 1, C]` with `keepdims`); the backward pass routes to the first
/// maximum in (row, column) order. Only `channels_last`. MACs: one compare per input element.
public struct GlobalMaxPooling2D: Layer {
    public static let kerasClassName = "GlobalMaxPooling2D"
    /// True for a `[1, 1, C]` output, false for `[C]`.
    public let keepdims: Bool
    public var weights: [Tensor] = []

    public init(keepdims: Bool = false) { self.keepdims = keepdims }

    public init(config: LayerConfig) throws {
        keepdims = try readGlobalPoolingConfig(config)
    }

    public var config: LayerConfig { globalPoolingConfig(keepdims) }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        try globalPoolingOutputShape(inputShapes, keepdims: keepdims, layer: Self.kerasClassName)
    }

    public func macs(inputShapes: [Shape], outputShape: Shape) -> Int {
        inputShapes.first?.reduce(1, *) ?? 0
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let (y, argmax) = try Self.pool(x)
        return LayerOutput(
            try y.reshaped(pooledShape(x.shape[0], x.shape[3], keepdims)), cache: context.training ? argmax : nil)
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        let (n, pixels, c) = try globalPoolingDimensions(x, layer: Self.kerasClassName)
        try checkGradientShape(outputGradient, pooledShape(n, c, keepdims), layer: Self.kerasClassName)
        let argmax = try (output.cache as? [Int32]) ?? Self.pool(x).argmax
        var dx = Tensor(shape: x.shape)
        guard n > 0 else { return LayerGradients(inputs: [dx]) }
        dx.scalars.withUnsafeMutableBufferPointer { dxb in
            outputGradient.scalars.withUnsafeBufferPointer { gyb in
                argmax.withUnsafeBufferPointer { ib in
                    for s in 0..<n {
                        let base = s * pixels * c
                        for j in 0..<c {
                            let e = s * c + j
                            dxb[base + Int(ib[e]) * c + j] = gyb[e]
                        }
                    }
                }
            }
        }
        return LayerGradients(inputs: [dx])
    }

    /// The maxima and, for each `(sample, channel)`, the pixel index of the first maximum.
    static func pool(_ x: Tensor) throws -> (value: Tensor, argmax: [Int32]) {
        let (n, pixels, c) = try globalPoolingDimensions(x, layer: kerasClassName)
        var y = Tensor(shape: [n, c])
        var argmax = [Int32](repeating: 0, count: n * c)
        guard n > 0 else { return (y, argmax) }
        x.scalars.withUnsafeBufferPointer { xb in
            y.scalars.withUnsafeMutableBufferPointer { yb in
                argmax.withUnsafeMutableBufferPointer { ib in
                    let xp = xb.baseAddress!, yp = yb.baseAddress!, ip = ib.baseAddress!
                    Compute.parallelChunks(n) { samples in
                        for s in samples {
                            let out = yp + s * c, oi = ip + s * c
                            var src = xp + s * pixels * c
                            out.update(from: src, count: c)
                            for p in 1..<max(pixels, 1) {
                                src += c
                                for j in 0..<c where src[j] > out[j] {
                                    out[j] = src[j]
                                    oi[j] = Int32(p)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (y, argmax)
    }
}

/// Reads `data_format` (channels_last only) and returns `keepdims`.
private func readGlobalPoolingConfig(_ config: LayerConfig) throws -> Bool {
    try config.requireChannelsLast()
    return try config.bool("keepdims", default: false)
}

private func globalPoolingConfig(_ keepdims: Bool) -> LayerConfig {
    LayerConfig(["data_format": "channels_last", "keepdims": .bool(keepdims)])
}

private func globalPoolingOutputShape(_ inputShapes: [Shape], keepdims: Bool, layer: String) throws -> Shape {
    let input = try singleInput(inputShapes)
    guard input.count == 3, input.allSatisfy({ $0 > 0 }) else {
        throw LayerError.inputShape("\(layer) expects an image input [height, width, channels], got \(input)")
    }
    return keepdims ? [1, 1, input[2]] : [input[2]]
}

/// The batch shape of pooled output: `[n, c]`, or `[n, 1, 1, c]` with `keepdims`.
private func pooledShape(_ n: Int, _ c: Int, _ keepdims: Bool) -> [Int] { keepdims ? [n, 1, 1, c] : [n, c] }

/// `(batch, height * width, channels)` of an NHWC batch.
private func globalPoolingDimensions(_ x: Tensor, layer: String) throws -> (Int, Int, Int) {
    guard x.rank == 4, x.shape.dropFirst().allSatisfy({ $0 > 0 }) else {
        throw LayerError.inputShape(
            "\(layer) expects a batch of images [batch, height, width, channels], got \(x.shape)")
    }
    return (x.shape[0], x.shape[1] * x.shape[2], x.shape[3])
}

// MARK: - Surgery

extension GlobalAveragePooling2D: SurgeryRule {
    /// `[H, W, C]` -> `[C]` or `[1, 1, C]`: feature `c` is channel `c`.
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

extension GlobalMaxPooling2D: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

// MARK: - Examples

extension GlobalAveragePooling2D {
    public static var examples: [LayerExample] {
        [
            LayerExample("GlobalAveragePooling2D") { GlobalAveragePooling2D() },
            LayerExample("GlobalAveragePooling2D keepdims") { GlobalAveragePooling2D(keepdims: true) },
            LayerExample("GlobalAveragePooling2D from its Keras config (empty)") {
                try GlobalAveragePooling2D(config: LayerConfig())
            },
        ]
    }
}

extension GlobalMaxPooling2D {
    public static var examples: [LayerExample] {
        [
            LayerExample("GlobalMaxPooling2D") { GlobalMaxPooling2D() },
            LayerExample("GlobalMaxPooling2D keepdims") { GlobalMaxPooling2D(keepdims: true) },
            LayerExample("GlobalMaxPooling2D from its Keras config (keepdims false)") {
                try GlobalMaxPooling2D(config: LayerConfig(["keepdims": false]))
            },
        ]
    }
}
