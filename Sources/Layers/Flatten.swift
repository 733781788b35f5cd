import SurgeonCore

/// Keras `Flatten`: `[H, W, C] -> [H * W * C]` in row-major order, so feature `k` of an NHWC
/// input is channel `k % C` of pixel `k / C`. No data is moved: the batch is reshaped.
public struct Flatten: Layer {
    public static let kerasClassName = "Flatten"
    public var weights: [Tensor] = []

    public init() {}

    public init(config: LayerConfig) throws {
        try config.requireChannelsLast()
    }

    public var config: LayerConfig { LayerConfig(["data_format": "channels_last"]) }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try singleInput(inputShapes)
        guard !input.isEmpty else {
            throw LayerError.inputShape(
                "Flatten expects an input with at least one axis besides the batch axis, got []")
        }
        return [input.reduce(1, *)]
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        guard x.rank >= 2 else {
            throw LayerError.inputShape(
                "Flatten expects a batch [batch, ...] with at least one axis besides the batch axis, got \(x.shape)")
        }
        return LayerOutput(try x.reshaped([x.shape[0], x.shape.dropFirst().reduce(1, *)]))
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        return LayerGradients(inputs: [try outputGradient.reshaped(x.shape)])
    }
}

// MARK: - Surgery

extension Flatten: SurgeryRule {
    /// Feature `k` of a flattened `[H, W, C]` tensor is channel `k % C`: deleting a channel
    /// deletes its `H * W` features, and the consuming Dense's matching rows.
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .flattened }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

// MARK: - Examples

extension Flatten {
    public static var examples: [LayerExample] {
        [
            LayerExample("Flatten into Dense") { Flatten() },
            LayerExample("Flatten from its Keras config (empty)") { try Flatten(config: LayerConfig()) },
        ]
    }
}
