import SurgeonCore

/// Keras `Cropping2D`: drops rows and columns at the borders of each image, keeping
/// `x[:, top : H - bottom, left : W - right, :]` (KERAS-FORMAT 5.5).
///
/// `cropping` may be an integer `p` (all four sides), `[h, w]` (`h` top and bottom, `w` left
/// and right) or `[[top, bottom], [left, right]]`; the config is written in the last form. A
/// cropping that leaves no row or no column is refused, as Keras refuses it.
public struct Cropping2D: Layer {
    public static let kerasClassName = "Cropping2D"
    public let top: Int, bottom: Int, left: Int, right: Int
    public var weights: [Tensor] = []

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        precondition([top, bottom, left, right].allSatisfy { $0 >= 0 }, "negative cropping")
        self.top = top
        self.bottom = bottom
        self.left = left
        self.right = right
    }

    public init(config: LayerConfig) throws {
        let m = try ImageMargins(config: config, key: "cropping", default: [[0, 0], [0, 0]])
        self.init(top: m.top, bottom: m.bottom, left: m.left, right: m.right)
        try config.requireChannelsLast()
    }

    public var config: LayerConfig {
        LayerConfig([
            "cropping": margins.configValue,
            "data_format": "channels_last",
        ])
    }

    private var margins: ImageMargins { ImageMargins(top: top, bottom: bottom, left: left, right: right) }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try singleInput(inputShapes)
        guard input.count == 3 else {
            throw LayerError.inputShape("Cropping2D expects an image input [height, width, channels], got \(input)")
        }
        try checkSomethingIsLeft(input)
        return [input[0] - top - bottom, input[1] - left - right, input[2]]
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let (n, h, w, c) = try dimensions(x)
        let oh = h - top - bottom, ow = w - left - right
        var y = Tensor(shape: [n, oh, ow, c])
        x.scalars.withUnsafeBufferPointer { xb in
            y.scalars.withUnsafeMutableBufferPointer { yb in
                let rowLength = ow * c
                for s in 0..<n {
                    for oy in 0..<oh {
                        let src = xb.baseAddress! + ((s * h + top + oy) * w + left) * c
                        (yb.baseAddress! + (s * oh + oy) * rowLength).update(from: src, count: rowLength)
                    }
                }
            }
        }
        return LayerOutput(y)
    }

    /// The output gradient placed back into the kept window; the cropped borders get zero.
    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        let (n, h, w, c) = try dimensions(x)
        let oh = h - top - bottom, ow = w - left - right
        try checkGradientShape(outputGradient, [n, oh, ow, c], layer: Self.kerasClassName)
        var dx = Tensor(shape: x.shape)
        dx.scalars.withUnsafeMutableBufferPointer { dxb in
            outputGradient.scalars.withUnsafeBufferPointer { gyb in
                let rowLength = ow * c
                for s in 0..<n {
                    for oy in 0..<oh {
                        let dst = dxb.baseAddress! + ((s * h + top + oy) * w + left) * c
                        dst.update(from: gyb.baseAddress! + (s * oh + oy) * rowLength, count: rowLength)
                    }
                }
            }
        }
        return LayerGradients(inputs: [dx])
    }

    private func checkSomethingIsLeft(_ input: Shape) throws {
        guard top + bottom < input[0], left + right < input[1] else {
            throw LayerError.inputShape(
                "Cropping2D cropping \(margins.configValue) leaves nothing of an input of shape \(input)")
        }
    }

    private func dimensions(_ x: Tensor) throws -> (Int, Int, Int, Int) {
        guard x.rank == 4 else {
            throw LayerError.inputShape(
                "Cropping2D expects a batch of images [batch, height, width, channels], got \(x.shape)")
        }
        try checkSomethingIsLeft(Array(x.shape.dropFirst()))
        return (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    }
}

// MARK: - Surgery

extension Cropping2D: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

// MARK: - Examples

extension Cropping2D {
    public static var examples: [LayerExample] {
        [
            LayerExample("Cropping2D") { Cropping2D(top: 1, bottom: 0, left: 2, right: 1) },
            LayerExample("Cropping2D from its Keras config ([[1, 0], [2, 1]])") {
                try Cropping2D(config: LayerConfig(["cropping": [[1, 0], [2, 1]]]))
            },
        ]
    }
}
