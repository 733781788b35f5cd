import SurgeonCore

/// A graph input: holds the per-sample shape (`batch_shape` in Keras 3, `batch_input_shape`
/// in Keras 2; the leading batch entry is `null`).
public struct InputLayer: Layer {
    public static let kerasClassName = "InputLayer"
    /// The per-sample shape, e.g. `[28, 28, 1]`.
    public let shape: Shape
    public var weights: [Tensor] = []

    public init(shape: Shape) { self.shape = shape }

    public init(config: LayerConfig) throws {
        let key = config["batch_shape"] != nil ? "batch_shape" : "batch_input_shape"
        let full = try config.intList(key)
        let sample = full.dropFirst()
        guard !sample.isEmpty, sample.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw LayerError.config(
                .invalid(
                    key: key,
                    value: ConfigValue.array(full.map { $0.map { .number(Double($0)) } ?? .null }).description,
                    expected: "[null, positive sizes...]"))
        }
        shape = sample.map { $0! }
    }

    public var config: LayerConfig {
        LayerConfig(["batch_shape": .array([.null] + shape.map { .number(Double($0)) }), "dtype": "float32"])
    }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        guard inputShapes.isEmpty else { throw LayerError.inputCount(expected: "no", actual: inputShapes.count) }
        return shape
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        guard let x = inputs.first else { throw LayerError.inputCount(expected: "1", actual: 0) }
        return LayerOutput(x)
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        LayerGradients(inputs: [])
    }
}

// MARK: - Surgery

extension InputLayer: SurgeryRule {
    /// The data's channels: new, and never prunable.
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .fresh }

    public var outputChannelsArePrunable: Bool { false }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        throw LayerError.unsupported("the channels of a graph input are the data's and cannot be deleted")
    }
}

// MARK: - Examples

extension InputLayer {
    /// A graph input has no inputs of its own: the checkers make this layer the graph input of
    /// their harness (the surgery checker then checks that its channels stay pinned; the
    /// gradient check that it has nothing to differentiate).
    public static var examples: [LayerExample] {
        [
            LayerExample("InputLayer [5, 7, 3] from its Keras config", inputForms: []) {
                try InputLayer(config: LayerConfig(["batch_shape": [.null, 5, 7, 3]]))
            }
        ]
    }
}
