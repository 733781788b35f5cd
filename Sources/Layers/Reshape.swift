import SurgeonCore

/// Keras `Reshape`: the same values, read in C order, with the per-sample shape
/// `target_shape` (the batch axis left out; one entry may be -1, worked out from the others).
/// No data is moved.
///
/// Any reshape runs; surgery supports the ones that keep channels apart (see `channelMap`):
/// squeeze-excitation's `[C] -> [1, 1, C]`, MobileNet's `[1, 1, C] -> [C]`, and flattening
/// reshapes whose last axis holds whole pixels.
public struct Reshape: Layer {
    public static let kerasClassName = "Reshape"
    /// The target shape as configured: positive extents and at most one -1.
    public let targetShape: [Int]
    public var weights: [Tensor] = []

    public init(targetShape: [Int]) throws {
        guard !targetShape.isEmpty, targetShape.allSatisfy({ $0 > 0 || $0 == -1 }),
            targetShape.filter({ $0 == -1 }).count <= 1
        else {
            throw LayerError.config(
                .invalid(
                    key: "target_shape", value: "\(targetShape)",
                    expected: "a non-empty list of positive integers with at most one -1"))
        }
        self.targetShape = targetShape
    }

    public init(config: LayerConfig) throws {
        try self.init(
            targetShape: config.intList(
                "target_shape", expected: "a non-empty list of positive integers with at most one -1"))
    }

    public var config: LayerConfig { LayerConfig(["target_shape": .array(targetShape.map { .number(Double($0)) })]) }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        try resolved(for: try singleInput(inputShapes))
    }

    /// `target_shape` with the -1 worked out for a per-sample input shape.
    func resolved(for input: Shape) throws -> Shape {
        // Products through OutsideNumber: a crafted target_shape of 2^31 x 2^31 x 2^31 is an error, not a trap.
        let count: Int, known: Int
        do {
            count = try OutsideNumber.elementCount(of: input)
            known = try OutsideNumber.elementCount(of: targetShape.filter { $0 != -1 })
        } catch {
            throw LayerError.config(
                .invalid(
                    key: "target_shape", value: "\(targetShape)",
                    expected: "a shape of at most 2^40 values (\(error))"))
        }
        let fits = targetShape.contains(-1) ? known > 0 && count % known == 0 : known == count
        guard fits else {
            throw LayerError.inputShape(
                "Reshape cannot turn an input of shape \(input) (\(count) values) into target_shape \(targetShape)")
        }
        return targetShape.map { $0 == -1 ? count / known : $0 }
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        guard x.rank >= 1 else { throw LayerError.inputShape("Reshape expects a batch [batch, ...], got \(x.shape)") }
        let shape = try resolved(for: Array(x.shape.dropFirst()))
        return LayerOutput(try x.reshaped([x.shape[0]] + shape))
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        guard outputGradient.count == x.count else {
            throw LayerError.inputShape(
                "Reshape backward: output gradient of shape \(outputGradient.shape) for an input of shape \(x.shape)")
        }
        return LayerGradients(inputs: [try outputGradient.reshaped(x.shape)])
    }
}

// MARK: - Surgery

extension Reshape: SurgeryRule {
    /// Values keep their C-order position and the channel axis is the fastest, so value `i` is
    /// channel `i % C` before and after. When the last extent stays `C` every output channel is
    /// an input channel (`.identity`); when it is a multiple of `C` the output's last axis
    /// holds whole pixels and its entry `k` is channel `k % C` (`.flattened`). Any other last
    /// extent splits or mixes channels, which surgery refuses.
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap {
        let input = try singleInput(inputShapes)
        let output = try resolved(for: input)
        let channels = input.last ?? 1, last = output.last ?? 1
        if last == channels { return .identity }
        guard channels > 0, last % channels == 0 else {
            throw LayerError.unsupported(
                "Reshape of an input of shape \(input) to target_shape \(targetShape) splits its \(channels) channels "
                    + "across axes; surgery supports reshapes whose last extent is the channel count (such as "
                    + "[C] -> [1, 1, C] or [1, 1, C] -> [C]) or a multiple of it ([H, W, C] -> [H * W * C])")
        }
        return .flattened
    }

    /// The last extent becomes the surviving count (for both maps the other extents do not
    /// depend on the channel count); a -1 there is left to work itself out.
    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        guard let last = targetShape.last, last != -1 else { return self }
        return try Reshape(targetShape: targetShape.dropLast() + [keptOutputs.count])
    }
}

// MARK: - Examples

extension Reshape {
    public static var examples: [LayerExample] {
        [
            LayerExample("Reshape [C] -> [1, 1, C] (squeeze-excitation)", flatInput: true) {
                try Reshape(targetShape: [1, 1, -1])
            },
            LayerExample("Reshape [C] -> [1, 1, C] explicit", flatInput: true, channels: 6) {
                try Reshape(targetShape: [1, 1, 6])
            },
            LayerExample("Reshape [1, 1, C] -> [C] (MobileNet head)", inputForms: [.pooled]) {
                try Reshape(targetShape: [-1])
            },
            LayerExample("Reshape [1, 1, C] -> [C] explicit", inputForms: [.pooled], channels: 5) {
                try Reshape(targetShape: [5])
            },
            LayerExample("Reshape [H, W, C] -> [H * W, C]", channels: 5) { try Reshape(targetShape: [-1, 5]) },
            LayerExample("Reshape [H, W, C] -> [1, H * W, C]", channels: 5) { try Reshape(targetShape: [1, -1, 5]) },
            LayerExample("Reshape [H, W, C] -> [H * W * C] (flattening)") { try Reshape(targetShape: [-1]) },
            LayerExample("Reshape from its Keras config ([C] -> [1, 1, C])", flatInput: true) {
                try Reshape(config: LayerConfig(["target_shape": [1, 1, -1]]))
            },
        ]
    }
}
