import SurgeonCore

/// Keras `ZeroPadding2D`: adds rows and columns of zeros around each image,
/// `[H, W, C] -> [top + H + bottom, left + W + right, C]`.
///
/// `padding` may be an integer `p` (all four sides), `[h, w]` (`h` top and bottom, `w` left
/// and right) or `[[top, bottom], [left, right]]`; the config is written in the last form.
public struct ZeroPadding2D: Layer {
    public static let kerasClassName = "ZeroPadding2D"
    public let top: Int, bottom: Int, left: Int, right: Int
    public var weights: [Tensor] = []

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        precondition([top, bottom, left, right].allSatisfy { $0 >= 0 }, "negative padding")
        self.top = top
        self.bottom = bottom
        self.left = left
        self.right = right
    }

    public init(config: LayerConfig) throws {
        let m = try ImageMargins(config: config, key: "padding", default: 1)
        self.init(top: m.top, bottom: m.bottom, left: m.left, right: m.right)
        try config.requireChannelsLast()
    }

    public var config: LayerConfig {
        LayerConfig([
            "padding": ImageMargins(top: top, bottom: bottom, left: left, right: right).configValue,
            "data_format": "channels_last",
        ])
    }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try singleInput(inputShapes)
        guard input.count == 3 else {
            throw LayerError.inputShape("ZeroPadding2D expects an image input [height, width, channels], got \(input)")
        }
        return [top + input[0] + bottom, left + input[1] + right, input[2]]
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let (n, h, w, c) = try dimensions(x)
        let oh = top + h + bottom, rowLength = (left + w + right) * c
        let y = Tensor(shape: [n, oh, left + w + right, c]) { yb in
            guard let yp = yb.baseAddress, !yb.isEmpty else { return }
            x.scalars.withUnsafeBufferPointer { xb in
                let xp = xb.baseAddress
                Compute.parallelChunks(n * oh, minimumChunk: max(1, Self.grain / max(rowLength, 1))) { rows in
                    for r in rows {
                        let dst = yp + r * rowLength, iy = r % oh - top
                        guard iy >= 0, iy < h, let xp else {
                            dst.initialize(repeating: 0, count: rowLength)
                            continue
                        }
                        dst.initialize(repeating: 0, count: left * c)
                        (dst + left * c).initialize(from: xp + ((r / oh) * h + iy) * w * c, count: w * c)
                        (dst + (left + w) * c).initialize(repeating: 0, count: right * c)
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
        let (n, h, w, c) = try dimensions(x)
        let oh = top + h + bottom, ow = left + w + right
        try checkGradientShape(outputGradient, [n, oh, ow, c], layer: Self.kerasClassName)
        let dx = Tensor(shape: x.shape) { dxb in
            guard let dxp = dxb.baseAddress, !dxb.isEmpty else { return }
            outputGradient.scalars.withUnsafeBufferPointer { gyb in
                guard let gyp = gyb.baseAddress else { return }
                Compute.parallelChunks(n * h, minimumChunk: max(1, Self.grain / max(w * c, 1))) { rows in
                    for r in rows {
                        let src = gyp + (((r / h) * oh + top + r % h) * ow + left) * c
                        (dxp + r * w * c).initialize(from: src, count: w * c)
                    }
                }
            }
        }
        return LayerGradients(inputs: [dx])
    }

    /// Floats per parallel chunk at least: below this a thread costs more than it copies.
    private static let grain = 1 << 14

    private func dimensions(_ x: Tensor) throws -> (Int, Int, Int, Int) {
        guard x.rank == 4 else {
            throw LayerError.inputShape(
                "ZeroPadding2D expects a batch of images [batch, height, width, channels], got \(x.shape)")
        }
        return (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    }
}

// MARK: - Surgery

extension ZeroPadding2D: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

// MARK: - Examples

extension ZeroPadding2D {
    public static var examples: [LayerExample] {
        [
            LayerExample("ZeroPadding2D") { ZeroPadding2D(top: 1, bottom: 0, left: 2, right: 1) },
            LayerExample("ZeroPadding2D from its Keras config ([1, 2])") {
                try ZeroPadding2D(config: LayerConfig(["padding": [1, 2]]))
            },
        ]
    }
}
