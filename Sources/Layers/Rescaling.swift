import SurgeonCore

/// Keras `Rescaling`: `y = x * scale + offset`, where `scale` and `offset` are each one number
/// or one number per channel (EfficientNet divides by per-channel standard deviations).
/// No weights; MACs: one multiply-add per element.
public struct Rescaling: Layer {
    public static let kerasClassName = "Rescaling"
    public let scale: ChannelValues
    public let offset: ChannelValues
    public var weights: [Tensor] = []

    public init(scale: ChannelValues, offset: ChannelValues = .uniform(0)) {
        self.scale = scale
        self.offset = offset
    }

    public init(config: LayerConfig) throws {
        var values = config
        if values["offset"] == nil || values["offset"] == .null { values["offset"] = 0 }
        self.init(
            scale: try ChannelValues(config: values, key: "scale"),
            offset: try ChannelValues(config: values, key: "offset"))
    }

    public var config: LayerConfig { LayerConfig(["scale": scale.configValue, "offset": offset.configValue]) }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try singleInput(inputShapes)
        let channels = input.last ?? 1
        for (name, values) in [("scale", scale), ("offset", offset)] where !values.fits(channels: channels) {
            throw LayerError.inputShape(
                "Rescaling \(name) \(values.description) does not fit an input of shape \(input): "
                    + "give one number, or one per channel (\(channels))")
        }
        return input
    }

    public func macs(inputShapes: [Shape], outputShape: Shape) -> Int { outputShape.reduce(1, *) }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let c = try channels(of: x)
        return LayerOutput(
            BatchNormalization.affine(x, factor: scale.values(channels: c), shift: offset.values(channels: c)))
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        let c = try channels(of: x)
        try checkGradientShape(outputGradient, x.shape, layer: Self.kerasClassName)
        var dx = outputGradient
        dx.scaleChannels(by: scale.values(channels: c))
        return LayerGradients(inputs: [dx])
    }

    private func channels(of x: Tensor) throws -> Int {
        guard x.rank >= 2 else {
            throw LayerError.inputShape("Rescaling expects a batch [batch, ..., channels], got \(x.shape)")
        }
        _ = try outputShape(for: [Array(x.shape.dropFirst())])
        return x.channelCount
    }
}

// MARK: - Surgery

extension Rescaling: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    /// Keeps the surviving channels' entries of per-channel `scale` and `offset`.
    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        Rescaling(scale: scale.selecting(keptOutputs), offset: offset.selecting(keptOutputs))
    }
}

// MARK: - Examples

extension Rescaling {
    public static var examples: [LayerExample] {
        [
            LayerExample("Rescaling by numbers") { Rescaling(scale: .uniform(0.5), offset: .uniform(-1)) },
            LayerExample("Rescaling per channel", channels: 5) {
                Rescaling(scale: .perChannel([1, 2, 0.5, -1, 3]), offset: .perChannel([0, 0.1, 0.2, 0.3, 0.4]))
            },
            LayerExample("Rescaling from its Keras config (1/255, -0.5)") {
                try Rescaling(config: LayerConfig(["scale": 0.00392156862745098, "offset": -0.5]))
            },
        ]
    }
}
