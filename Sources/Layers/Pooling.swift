import SurgeonCore

/// Keras `MaxPooling2D`: the largest value of each `pool_size` window, per channel.
///
/// `strides` default to `pool_size`; `padding` is "valid" or "same" (TensorFlow's split, an odd
/// total going to the bottom/right; padded positions never win). The backward pass routes each
/// output gradient to the window's argmax, the first maximum in (row, column) order on ties.
/// MACs: one compare per window position per output element (`outH * outW * C * ph * pw`).
public struct MaxPooling2D: Layer {
    public static let kerasClassName = "MaxPooling2D"
    public let window: WindowOptions
    public var weights: [Tensor] = []

    public init(poolSize: [Int] = [2, 2], strides: [Int]? = nil, padding: Padding = .valid) {
        window = WindowOptions(size: poolSize, strides: strides ?? poolSize, padding: padding)
    }

    public init(config: LayerConfig) throws {
        window = try poolingWindow(config: config, layer: Self.kerasClassName)
    }

    public var config: LayerConfig { poolingConfig(window) }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try singleInput(inputShapes)
        let g = try window.geometry(for: input)
        return [g.outputHeight, g.outputWidth, input[2]]
    }

    public func macs(inputShapes: [Shape], outputShape: Shape) -> Int {
        outputShape.reduce(1, *) * window.size[0] * window.size[1]
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let g = try poolingGeometry(window, x)
        let (y, argmax) = Self.pool(x, g, recordArgmax: context.training)
        return LayerOutput(y, cache: context.training ? argmax : nil)
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        let g = try poolingGeometry(window, x)
        let argmax: [Int32]
        if let cached = output.cache as? [Int32] {
            argmax = cached
        } else {
            argmax = Self.pool(x, g, recordArgmax: true).argmax
        }
        let outCount = outputGradient.count
        guard argmax.count == outCount, outCount == x.shape[0] * g.outputHeight * g.outputWidth * x.shape[3] else {
            throw LayerError.inputShape(
                "MaxPooling2D backward: output gradient of shape \(outputGradient.shape) does not match the forward "
                    + "pass"
            )
        }
        let n = x.shape[0], sampleIn = g.inputHeight * g.inputWidth * x.shape[3]
        let sampleOut = g.outputHeight * g.outputWidth * x.shape[3]
        var dx = Tensor(shape: x.shape)
        guard dx.count > 0 else { return LayerGradients(inputs: [dx]) }
        dx.scalars.withUnsafeMutableBufferPointer { dxb in
            outputGradient.scalars.withUnsafeBufferPointer { gyb in
                argmax.withUnsafeBufferPointer { ib in
                    let gx = dxb.baseAddress!, gy = gyb.baseAddress!, idx = ib.baseAddress!
                    // Samples are disjoint in dx; overlapping windows within a sample are summed serially.
                    Compute.parallelChunks(n) { samples in
                        for s in samples {
                            let gxs = gx + s * sampleIn
                            let base = s * sampleOut
                            for e in base..<(base + sampleOut) { gxs[Int(idx[e])] += gy[e] }
                        }
                    }
                }
            }
        }
        return LayerGradients(inputs: [dx])
    }

    /// Max pooling; with `recordArgmax`, also the winning input offset within its sample for
    /// every output element.
    static func pool(_ x: Tensor, _ g: ConvGeometry, recordArgmax: Bool) -> (value: Tensor, argmax: [Int32]) {
        let n = x.shape[0], c = x.shape[3]
        let oh = g.outputHeight, ow = g.outputWidth, h = g.inputHeight, w = g.inputWidth
        var y = Tensor(shape: [n, oh, ow, c])
        var argmax = [Int32](repeating: 0, count: recordArgmax ? y.count : 0)
        guard y.count > 0 else { return (y, argmax) }
        x.scalars.withUnsafeBufferPointer { xb in
            y.scalars.withUnsafeMutableBufferPointer { yb in
                argmax.withUnsafeMutableBufferPointer { ib in
                    let xp = xb.baseAddress!, yp = yb.baseAddress!
                    // An empty array still has a (shared, static) base address: never write through it.
                    let ip = recordArgmax ? ib.baseAddress : nil
                    Compute.parallelChunks(n * oh, minimumChunk: 4) { rows in
                        for r in rows {
                            let s = r / oh, oy = r % oh
                            let xs = xp + s * h * w * c
                            let top = oy * g.strideHeight - g.padTop
                            let y0 = max(top, 0), y1 = min(top + g.kernelHeight, h)
                            for ox in 0..<ow {
                                let left = ox * g.strideWidth - g.padLeft
                                let x0 = max(left, 0), x1 = min(left + g.kernelWidth, w)
                                let o = (r * ow + ox) * c
                                let out = yp + o
                                // The first valid position seeds the maximum (windows always hold one).
                                let first = (y0 * w + x0) * c
                                out.update(from: xs + first, count: c)
                                if let ip {
                                    let oi = ip + o
                                    for j in 0..<c { oi[j] = Int32(first + j) }
                                    for iy in y0..<y1 {
                                        for ix in x0..<x1 where iy != y0 || ix != x0 {
                                            let off = (iy * w + ix) * c
                                            let src = xs + off
                                            for j in 0..<c where src[j] > out[j] {
                                                out[j] = src[j]
                                                oi[j] = Int32(off + j)
                                            }
                                        }
                                    }
                                } else {
                                    for iy in y0..<y1 {
                                        for ix in x0..<x1 {
                                            let src = xs + (iy * w + ix) * c
                                            for j in 0..<c { out[j] = src[j] > out[j] ? src[j] : out[j] }
                                        }
                                    }
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

/// Keras `AveragePooling2D`: the mean of each `pool_size` window, per channel.
///
/// With "same" padding a window that overlaps the padding divides by the number of real
/// (non-padded) positions it covers, as TensorFlow and Keras do. MACs: one add per window
/// position per output element.
public struct AveragePooling2D: Layer {
    public static let kerasClassName = "AveragePooling2D"
    public let window: WindowOptions
    public var weights: [Tensor] = []

    public init(poolSize: [Int] = [2, 2], strides: [Int]? = nil, padding: Padding = .valid) {
        window = WindowOptions(size: poolSize, strides: strides ?? poolSize, padding: padding)
    }

    public init(config: LayerConfig) throws {
        window = try poolingWindow(config: config, layer: Self.kerasClassName)
    }

    public var config: LayerConfig { poolingConfig(window) }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try singleInput(inputShapes)
        let g = try window.geometry(for: input)
        return [g.outputHeight, g.outputWidth, input[2]]
    }

    public func macs(inputShapes: [Shape], outputShape: Shape) -> Int {
        outputShape.reduce(1, *) * window.size[0] * window.size[1]
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let g = try poolingGeometry(window, x)
        let n = x.shape[0], c = x.shape[3]
        let oh = g.outputHeight, ow = g.outputWidth, h = g.inputHeight, w = g.inputWidth
        var y = Tensor(shape: [n, oh, ow, c])
        guard y.count > 0 else { return LayerOutput(y) }
        x.scalars.withUnsafeBufferPointer { xb in
            y.scalars.withUnsafeMutableBufferPointer { yb in
                let xp = xb.baseAddress!, yp = yb.baseAddress!
                Compute.parallelChunks(n * oh, minimumChunk: 4) { rows in
                    for r in rows {
                        let s = r / oh, oy = r % oh
                        let xs = xp + s * h * w * c
                        let top = oy * g.strideHeight - g.padTop
                        let y0 = max(top, 0), y1 = min(top + g.kernelHeight, h)
                        for ox in 0..<ow {
                            let left = ox * g.strideWidth - g.padLeft
                            let x0 = max(left, 0), x1 = min(left + g.kernelWidth, w)
                            let out = yp + (r * ow + ox) * c
                            for iy in y0..<y1 {
                                for ix in x0..<x1 {
                                    let src = xs + (iy * w + ix) * c
                                    for j in 0..<c { out[j] += src[j] }
                                }
                            }
                            let inverse = 1 / Float((y1 - y0) * (x1 - x0))
                            for j in 0..<c { out[j] *= inverse }
                        }
                    }
                }
            }
        }
        return LayerOutput(y)
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        let g = try poolingGeometry(window, x)
        let n = x.shape[0], c = x.shape[3]
        let oh = g.outputHeight, ow = g.outputWidth, h = g.inputHeight, w = g.inputWidth
        try checkGradientShape(outputGradient, [n, oh, ow, c], layer: Self.kerasClassName)
        var dx = Tensor(shape: x.shape)
        guard dx.count > 0 else { return LayerGradients(inputs: [dx]) }
        dx.scalars.withUnsafeMutableBufferPointer { dxb in
            outputGradient.scalars.withUnsafeBufferPointer { gyb in
                let gx = dxb.baseAddress!, gy = gyb.baseAddress!
                // Parallel over samples: overlapping windows write the same inputs within a sample.
                Compute.parallelChunks(n) { samples in
                    for s in samples {
                        let gxs = gx + s * h * w * c
                        for oy in 0..<oh {
                            let top = oy * g.strideHeight - g.padTop
                            let y0 = max(top, 0), y1 = min(top + g.kernelHeight, h)
                            for ox in 0..<ow {
                                let left = ox * g.strideWidth - g.padLeft
                                let x0 = max(left, 0), x1 = min(left + g.kernelWidth, w)
                                let go = gy + ((s * oh + oy) * ow + ox) * c
                                let inverse = 1 / Float((y1 - y0) * (x1 - x0))
                                for iy in y0..<y1 {
                                    for ix in x0..<x1 {
                                        let dst = gxs + (iy * w + ix) * c
                                        for j in 0..<c { dst[j] += go[j] * inverse }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return LayerGradients(inputs: [dx])
    }
}

/// Reads a pooling window: `pool_size` (default 2x2), `strides` (default `pool_size`),
/// `padding`, `data_format` (channels_last only). Pooling has no dilation.
func poolingWindow(config: LayerConfig, layer: String) throws -> WindowOptions {
    let window = try WindowOptions(config: config, sizeKey: "pool_size", defaultStridesToSize: true)
    guard window.dilation == [1, 1] else {
        throw LayerError.unsupported("\(layer) has no dilation; dilation_rate \(window.dilation) is not supported")
    }
    return window
}

func poolingConfig(_ window: WindowOptions) -> LayerConfig {
    var c = LayerConfig()
    window.write(to: &c, sizeKey: "pool_size", includeDilation: false)
    return c
}

/// The geometry for a batch `x` of shape `[N, H, W, C]`.
func poolingGeometry(_ window: WindowOptions, _ x: Tensor) throws -> ConvGeometry {
    guard x.rank == 4 else {
        throw LayerError.inputShape("expects a batch of images [batch, height, width, channels], got \(x.shape)")
    }
    return try window.geometry(for: Array(x.shape.dropFirst()))
}

// MARK: - Surgery

extension MaxPooling2D: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

extension AveragePooling2D: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

// MARK: - Examples

extension MaxPooling2D {
    public static var examples: [LayerExample] {
        [
            LayerExample("MaxPooling2D") { MaxPooling2D(poolSize: [2, 2], padding: .same) },
            LayerExample("MaxPooling2D from its Keras config (2x2 valid)") {
                try MaxPooling2D(config: LayerConfig(["pool_size": 2]))
            },
        ]
    }
}

extension AveragePooling2D {
    public static var examples: [LayerExample] {
        [
            LayerExample("AveragePooling2D") { AveragePooling2D(poolSize: [3, 3], strides: [2, 2], padding: .same) },
            LayerExample("AveragePooling2D from its Keras config (3x3 stride 2 same)") {
                try AveragePooling2D(config: LayerConfig(["pool_size": 3, "strides": 2, "padding": "same"]))
            },
        ]
    }
}
