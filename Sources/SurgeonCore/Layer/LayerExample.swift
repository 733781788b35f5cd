/// A sample of a layer type, declared by the type itself (`Layer.examples`), so that every
/// generic check iterates the registry instead of a hand-kept list: the registry tests (config
/// round trip), the surgery checker, the gradient check, `surgeon rules` and the random graphs.
///
/// The checkers place the layer after one producer per input (a convolution and a BatchNorm,
/// pooled to the input's form) and before consumers, with `channels` channels per producer.
public struct LayerExample: Sendable {
    /// How one input is fed: the producer's `[H, W, C]` image, or that image averaged over
    /// height and width.
    public enum Input: Sendable, Equatable {
        /// `[H, W, C]`.
        case image
        /// `[1, 1, C]` (GlobalAveragePooling2D with keepdims).
        case pooled
        /// `[C]` (GlobalAveragePooling2D).
        case flat
    }

    /// A name for failure messages and listings (the class name and the variant).
    public var name: String
    /// The form of each input, in order.
    public var inputForms: [Input]
    /// The producers' channel count, for layers whose config names it (a Reshape's
    /// `target_shape`, per-channel lists); nil lets a checker pick one (4...7).
    public var channels: Int?
    /// A fresh layer, without weights.
    public var make: @Sendable () throws -> any Layer

    /// `inputs` inputs of one form: images, or flat `[C]` vectors with `flatInput`.
    public init(
        _ name: String, inputs: Int = 1, flatInput: Bool = false, channels: Int? = nil,
        make: @escaping @Sendable () throws -> any Layer
    ) {
        self.init(
            name, inputForms: Array(repeating: flatInput ? .flat : .image, count: inputs), channels: channels,
            make: make)
    }

    public init(
        _ name: String, inputForms: [Input], channels: Int? = nil, make: @escaping @Sendable () throws -> any Layer
    ) {
        self.name = name
        self.inputForms = inputForms
        self.channels = channels
        self.make = make
    }

    /// The number of inputs.
    public var inputs: Int { inputForms.count }

    /// Per-sample input shapes for images of `height` x `width` with `channels` (or this
    /// example's own count) channels.
    public func inputShapes(height: Int = 4, width: Int = 4, channels fallback: Int = 4) -> [Shape] {
        let c = channels ?? fallback
        return inputForms.map { form in
            switch form {
            case .image: return [height, width, c]
            case .pooled: return [1, 1, c]
            case .flat: return [c]
            }
        }
    }
}
