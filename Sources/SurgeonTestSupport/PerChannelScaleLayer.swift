import SurgeonCore

/// A learned per-channel scale, `y[..., c] = x[..., c] * scale[c]` (weight `scale`, shape `[C]`,
/// initialised to ones), with its surgery rule: the smallest complete layer type, for tests that
/// need a type of their own (a user-defined layer, a Keras custom class, a deliberately wrong
/// backward or rule). A conforming type names itself (`kerasClassName`) and holds `weights`;
/// everything else has a default here that it may replace.
public protocol PerChannelScaleLayer: Layer, SurgeryRule {
    init()
}

extension PerChannelScaleLayer {
    public init(config: LayerConfig) throws { self.init() }
    public var config: LayerConfig { LayerConfig() }
    public var weightNames: [String] { ["scale"] }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        guard inputShapes.count == 1, !inputShapes[0].isEmpty else {
            throw LayerError.inputCount(expected: "1 with a channel axis", actual: inputShapes.count)
        }
        return inputShapes[0]
    }

    public func weightShapes(for inputShapes: [Shape]) throws -> [Shape] {
        [[try outputShape(for: inputShapes).last ?? 1]]
    }

    public func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] {
        [Tensor(shape: try weightShapes(for: inputShapes)[0], repeating: 1)]
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        guard inputs.count == 1 else { throw LayerError.inputCount(expected: "1", actual: inputs.count) }
        var y = inputs[0]
        y.scaleChannels(by: weights[0].scalars)
        return LayerOutput(y)
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        var dx = outputGradient
        dx.scaleChannels(by: weights[0].scalars)
        var product = outputGradient
        for i in 0..<product.count { product.scalars[i] *= inputs[0].scalars[i] }
        return LayerGradients(inputs: [dx], weights: [product.channelSums()])
    }

    /// Output channel `i` is input channel `i`.
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    /// Keeps the surviving channels' scales.
    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        var layer = self
        layer.weights = [weights[0].selecting(keptOutputs, alongAxis: 0)]
        return layer
    }
}
