/// How a layer's output channels relate to its input channels — the one fact the surgeon needs
/// to know about a layer type to find which channels live or die together.
///
/// Channels are the last axis of every tensor (NHWC).
public enum ChannelMap: Sendable, Equatable, CustomStringConvertible {
    /// A new channel space: output channel `j` belongs to this layer alone (Conv2D filters,
    /// Dense units). Deleting it deletes filter `j` here; the inputs are only consumed.
    case fresh
    /// Output channel `i` is input channel `i` (BatchNormalization, ReLU, pooling, Dropout).
    case identity
    /// Every input and the output share channel `i` (Add, Multiply, ...).
    case tied
    /// The output channels are the inputs' channels end to end (Concatenate).
    case concatenated
    /// Output channel `j` comes from input channel `j / multiplier` (DepthwiseConv2D).
    case expanded(multiplier: Int)
    /// Output feature `k` comes from input channel `k % channels` (Flatten of an NHWC tensor).
    case flattened
    /// Output channel `j` is input channel `indices[j]` of the one input: a channel split keeps
    /// a range, the channel shuffle of ShuffleNet permutes them. Input channels not listed are
    /// dropped here and live on in the input's other readers.
    case gathered([Int])

    public var description: String {
        switch self {
        case .fresh: return "fresh"
        case .identity: return "identity"
        case .tied: return "tied"
        case .concatenated: return "concatenated"
        case let .expanded(m): return "expanded(by: \(m))"
        case .flattened: return "flattened"
        case let .gathered(indices):
            let shown = indices.prefix(8).map(String.init).joined(separator: ", ")
            return "gathered([\(shown)\(indices.count > 8 ? ", ..." : "")])"
        }
    }
}

/// The plugin boundary of surgery: a layer type adopts this in its own file to declare its
/// channel map and to rewrite itself for surviving channels, and is registered by Keras class
/// name in a `SurgeryRegistry`. The core knows no concrete layer type.
public protocol SurgeryRule: Layer {
    /// The channel map for these per-sample input shapes.
    func channelMap(inputShapes: [Shape]) throws -> ChannelMap

    /// False when the output channels can never be deleted (a graph input's image channels).
    var outputChannelsArePrunable: Bool { get }

    /// This layer with only the surviving channels: `keptInputs[k]` are the kept channel
    /// indices of input `k` (ascending), `keptOutputs` those of the output. The weights must be
    /// sliced to match; throw `LayerError.unsupported` for what the layer cannot do.
    func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer

    /// For each weight (parallel to `weights`), which axis runs over the output channels and
    /// which over the (first) input's channels, if any: Conv2D's kernel `[kh, kw, in, out]` is
    /// `(output: 3, input: 2)`, its bias `(output: 0)`. Importance criteria and regularisers use
    /// it to find a channel's filter slices in any layer type.
    var weightChannelAxes: [WeightChannelAxes] { get }

    /// The equal blocks its channels are split into (a grouped convolution's `groups`): a plan
    /// must delete as many channels from each block. The default is one block per side.
    func channelBlocks(inputShapes: [Shape]) throws -> ChannelBlocks

    /// This layer with constant input channels folded into its bias: `constants[c]` is the value
    /// input channel `c` holds everywhere (a deleted channel whose BatchNorm emits beta). Returns
    /// nil when the layer cannot fold; `exact` is false when zero padding makes the fold an
    /// approximation at the borders.
    func foldingConstantInputs(
        _ constants: [Int: Float], inputShapes: [Shape]
    ) throws -> (layer: any Layer, exact: Bool)?
}

/// The channel axes of one weight (see `SurgeryRule.weightChannelAxes`).
public struct WeightChannelAxes: Sendable, Equatable {
    public var output: Int?
    public var input: Int?
    /// Blocks of the input channels when the input axis holds only one block's (a grouped
    /// convolution's kernel `[kh, kw, in / g, out]`): index `i` along `input`, at index `f` along
    /// `output`, is input channel `(f / (out / inputBlocks)) * (in / inputBlocks) + i`.
    public var inputBlocks: Int

    public init(output: Int? = nil, input: Int? = nil, inputBlocks: Int = 1) {
        self.output = output
        self.input = input
        self.inputBlocks = inputBlocks
    }
}

extension SurgeryRule {
    public var outputChannelsArePrunable: Bool { true }
    public var weightChannelAxes: [WeightChannelAxes] { [] }
    public func channelBlocks(inputShapes: [Shape]) throws -> ChannelBlocks { ChannelBlocks() }
    public func foldingConstantInputs(
        _ constants: [Int: Float], inputShapes: [Shape]
    ) throws -> (layer: any Layer, exact: Bool)? { nil }
}
