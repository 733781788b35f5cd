import SurgeonCore

/// Keras `UpSampling2D` with nearest-neighbour interpolation: every pixel becomes an
/// `sh x sw` block, `y[n, i, j, c] = x[n, i / sh, j / sw, c]`, `[H, W, C] -> [H * sh, W * sw, C]`.
///
/// Keras's other interpolations (bilinear, bicubic, lanczos) are refused. 0 MACs.
public struct UpSampling2D: Layer {
    public static let kerasClassName = "UpSampling2D"
    /// `[sh, sw]`.
    public let size: [Int]
    public var weights: [Tensor] = []

    public init(size: [Int] = [2, 2]) {
        precondition(size.count == 2 && size.allSatisfy { $0 > 0 }, "size must be two positive integers")
        self.size = size
    }

    public init(config: LayerConfig) throws {
        let size = try config.ints("size", count: 2, default: [2, 2])
        guard size.allSatisfy({ $0 > 0 }) else {
            throw LayerError.config(
                .invalid(
                    key: "size", value: ConfigValue.array(size.map { .number(Double($0)) }).description,
                    expected: "2 positive integers"))
        }
        let interpolation = try config.string("interpolation", default: "nearest").lowercased()
        let others = ["bilinear", "bicubic", "lanczos3", "lanczos5"]
        guard interpolation == "nearest" else {
            guard others.contains(interpolation) else {
                throw LayerError.config(
                    .invalid(
                        key: "interpolation", value: "\"\(interpolation)\"",
                        expected: "one of " + (["nearest"] + others).map { "\"\($0)\"" }.joined(separator: ", ")))
            }
            throw LayerError.unsupported(
                "UpSampling2D with interpolation \"\(interpolation)\" is not supported; only \"nearest\"")
        }
        try config.requireChannelsLast()
        self.init(size: size)
    }

    public var config: LayerConfig {
        LayerConfig([
            "size": .array(size.map { .number(Double($0)) }), "data_format": "channels_last",
            "interpolation": "nearest",
        ])
    }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try singleInput(inputShapes)
        guard input.count == 3 else {
            throw LayerError.inputShape("UpSampling2D expects an image input [height, width, channels], got \(input)")
        }
        return [input[0] * size[0], input[1] * size[1], input[2]]
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let (n, h, w, c) = try dimensions(x)
        let sh = size[0], sw = size[1], outRow = w * sw * c
        var y = Tensor(shape: [n, h * sh, w * sw, c])
        x.scalars.withUnsafeBufferPointer { xb in
            y.scalars.withUnsafeMutableBufferPointer { yb in
                for r in 0..<(n * h) {
                    let src = xb.baseAddress! + r * w * c
                    let first = yb.baseAddress! + r * sh * outRow
                    for ix in 0..<w {
                        for b in 0..<sw { (first + (ix * sw + b) * c).update(from: src + ix * c, count: c) }
                    }
                    for a in 1..<max(sh, 1) { (first + a * outRow).update(from: first, count: outRow) }
                }
            }
        }
        return LayerOutput(y)
    }

    /// Each input pixel's gradient is the sum over its `sh x sw` block.
    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        let (n, h, w, c) = try dimensions(x)
        let sh = size[0], sw = size[1], outRow = w * sw * c
        try checkGradientShape(outputGradient, [n, h * sh, w * sw, c], layer: Self.kerasClassName)
        var dx = Tensor(shape: x.shape)
        dx.scalars.withUnsafeMutableBufferPointer { dxb in
            outputGradient.scalars.withUnsafeBufferPointer { gyb in
                for r in 0..<(n * h) {
                    let dst = dxb.baseAddress! + r * w * c
                    for a in 0..<sh {
                        let row = gyb.baseAddress! + (r * sh + a) * outRow
                        for ix in 0..<w {
                            let d = dst + ix * c
                            for b in 0..<sw {
                                let g = row + (ix * sw + b) * c
                                for j in 0..<c { d[j] += g[j] }
                            }
                        }
                    }
                }
            }
        }
        return LayerGradients(inputs: [dx])
    }

    private func dimensions(_ x: Tensor) throws -> (Int, Int, Int, Int) {
        guard x.rank == 4 else {
            throw LayerError.inputShape(
                "UpSampling2D expects a batch of images [batch, height, width, channels], got \(x.shape)")
        }
        return (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    }
}

// MARK: - Surgery

extension UpSampling2D: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

// MARK: - Examples

extension UpSampling2D {
    public static var examples: [LayerExample] {
        [
            LayerExample("UpSampling2D 2x2") { UpSampling2D() },
            LayerExample("UpSampling2D 1x3") { UpSampling2D(size: [1, 3]) },
            LayerExample("UpSampling2D from its Keras config (2x3 nearest)") {
                try UpSampling2D(config: LayerConfig(["size": [2, 3], "interpolation": "nearest"]))
            },
        ]
    }
}
