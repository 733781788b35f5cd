/// The shape of one sample (the batch axis left out), e.g. `[28, 28, 1]` for an NHWC image.
public typealias Shape = [Int]

/// A layer type: its Keras name and configuration, its weights, its shapes, and its forward and
/// backward passes. One layer family lives in one file of the `Layers` module.
///
/// Tensors passed to `forward` and `backward` carry the batch axis first; shapes given to
/// `outputShape(for:)`, `weightShapes(for:)` and `macs(...)` leave it out.
public protocol Layer: Sendable {
    /// The Keras class name (`"Conv2D"`, `"BatchNormalization"`, ...). Registries key on it.
    static var kerasClassName: String { get }

    /// False for surgeon's own layer types that no Keras class stands for (`ChannelGather`,
    /// read from ONNX): the `.keras` writer refuses them by name instead of writing a file
    /// Keras cannot load.
    static var hasKerasClass: Bool { get }

    /// Samples of this type for the generic checkers and `surgeon rules`; every registered
    /// type should declare at least one (the registry tests insist for built-in types).
    static var examples: [LayerExample] { get }

    /// Creates the layer from its Keras configuration (without weights; see `initialWeights`).
    init(config: LayerConfig) throws

    /// The Keras configuration (`filters`, `kernel_size`, ...), without `name`.
    var config: LayerConfig { get }

    /// The weights in Keras's order (Conv2D: kernel, bias; BatchNormalization: gamma, beta,
    /// moving_mean, moving_variance). Empty until the graph builds the layer.
    var weights: [Tensor] { get set }

    /// Keras's names for `weights`, in the same order.
    var weightNames: [String] { get }

    /// The number of leading entries of `weights` that training updates (the rest, such as
    /// BatchNormalization's moving statistics, change only through `LayerOutput.updatedState`).
    var trainableWeightCount: Int { get }

    /// The per-sample output shape for the given per-sample input shapes; throws `LayerError`
    /// when the inputs are not acceptable.
    func outputShape(for inputShapes: [Shape]) throws -> Shape

    /// The shapes `weights` must have for these inputs.
    func weightShapes(for inputShapes: [Shape]) throws -> [Shape]

    /// Fresh weights following Keras's default initialisers (glorot_uniform kernels, zero biases,
    /// unit gamma and moving variance).
    func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor]

    /// True when the output is a probability distribution over the last axis (a softmax), so
    /// that a loss on it must not apply softmax again.
    var producesProbabilities: Bool { get }

    /// True when the output has passed a rectifier that emits exact zeros for inactive units
    /// (ReLU, ReLU6, a convolution with a fused relu): the tensors APoZ measures.
    var rectifiesOutput: Bool { get }

    /// The index in `weights` of a trainable per-channel scale of the output (BatchNorm's
    /// gamma), if the layer has one: where Network Slimming's criterion and L1 penalty look.
    var channelScaleIndex: Int? { get }

    /// Multiply-accumulate operations for one sample.
    func macs(inputShapes: [Shape], outputShape: Shape) -> Int

    /// For a layer whose non-trainable weights are running estimates of its input's statistics
    /// (BatchNorm's moving mean and variance): this batch's statistics, in the order of those
    /// weights, as a training step would blend them in. `Graph.recalibratingStatistics`
    /// averages them over batches after surgery. Nil for every other layer.
    func batchStatistics(_ inputs: [Tensor]) throws -> [Tensor]?

    /// Runs the layer on a batch. In training mode the result may carry a cache for `backward`
    /// and new values for the non-trainable weights.
    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput

    /// The inference `forward` prepared for inputs of exactly `inputShapes` (batch axis first),
    /// or nil when preparing gains nothing (the default): the graph then calls `forward`. A
    /// convolution finds its backend primitive once and keeps its kernel in the backend's
    /// layout (in `kernelLayouts` when given). Throws `LayerError` for inputs it refuses.
    func preparedForward(inputShapes: [[Int]], kernelLayouts: KernelLayoutCache?) throws -> (any PreparedForward)?

    /// Given dLoss/dOutput, returns dLoss/dInput for each input and dLoss/dWeight for each
    /// trainable weight. `output` is what `forward` returned for these inputs in training mode.
    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients
}

extension Layer {
    public static var examples: [LayerExample] { [] }
    public static var hasKerasClass: Bool { true }
    public var weightNames: [String] { [] }
    public var trainableWeightCount: Int { weights.count }
    public func weightShapes(for inputShapes: [Shape]) throws -> [Shape] { [] }
    public func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] { [] }
    public func macs(inputShapes: [Shape], outputShape: Shape) -> Int { 0 }
    public var producesProbabilities: Bool { false }
    public var rectifiesOutput: Bool { false }
    public var channelScaleIndex: Int? { nil }
    public func batchStatistics(_ inputs: [Tensor]) throws -> [Tensor]? { nil }
    public func preparedForward(
        inputShapes: [[Int]], kernelLayouts: KernelLayoutCache?
    ) throws -> (any PreparedForward)? { nil }
    /// The Keras class name of this value's type.
    public var kerasClassName: String { Self.kerasClassName }
}

/// How a forward pass runs: inference or training, and the seed for random layers (Dropout).
public struct ForwardContext: Sendable {
    /// Training uses batch statistics and active dropout; inference uses moving statistics.
    public var training: Bool
    /// The seed of this step for random layers; a layer mixes in its own position.
    public var seed: UInt64
    /// Where a convolution keeps its kernel in the backend's layout between calls, when the
    /// graph only predicts (`Graph.kernelLayouts`); nil reorders on every call.
    public var kernelLayouts: KernelLayoutCache?

    public init(training: Bool, seed: UInt64 = 0, kernelLayouts: KernelLayoutCache? = nil) {
        self.training = training
        self.seed = seed
        self.kernelLayouts = kernelLayouts
    }

    public static let inference = ForwardContext(training: false)
}

/// The result of a forward pass.
public struct LayerOutput: Sendable {
    /// The output tensor, batch axis first.
    public var value: Tensor
    /// Whatever the layer keeps for its backward pass (training mode only).
    public var cache: (any Sendable)?
    /// New values of the non-trainable weights (e.g. BatchNormalization's moving statistics),
    /// in order, applied by the graph after a training step.
    public var updatedState: [Tensor]?

    public init(_ value: Tensor, cache: (any Sendable)? = nil, updatedState: [Tensor]? = nil) {
        self.value = value
        self.cache = cache
        self.updatedState = updatedState
    }
}

/// Gradients from a backward pass.
public struct LayerGradients: Sendable {
    /// dLoss/dInput for each input, in input order.
    public var inputs: [Tensor]
    /// dLoss/dWeight for each trainable weight, in weight order.
    public var weights: [Tensor]

    public init(inputs: [Tensor], weights: [Tensor] = []) {
        self.inputs = inputs
        self.weights = weights
    }
}

/// A layer cannot do what it was asked: wrong number of inputs, incompatible shapes, an
/// unsupported attribute value. The graph adds the node's name when it reports one.
public enum LayerError: Error, Equatable, CustomStringConvertible {
    case inputCount(expected: String, actual: Int)
    case inputShape(String)
    case unsupported(String)
    case config(LayerConfigError)
    case weights(String)
    case missingCache

    public var description: String {
        switch self {
        case let .inputCount(expected, actual): return "expects \(expected) input(s), got \(actual)"
        case let .inputShape(message): return message
        case let .unsupported(message): return message
        case let .config(error): return error.description
        case let .weights(message): return message
        case .missingCache: return "backward was called without a training-mode forward pass"
        }
    }
}
