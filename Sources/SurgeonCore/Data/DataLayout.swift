/// How a model's own file lays out image tensors at its border. surgeon computes in NHWC; a
/// model read from an NCHW file (a torch export) takes `--data` arrays as that file's runtime
/// would (`[N, C, H, W]`) and gives image outputs back the same way. Formats store it in the
/// model's metadata under `metadataKey`; absent means NHWC.
public enum DataLayout: String, Sendable {
    case channelsLast = "channels_last"
    case channelsFirst = "channels_first"

    public static let metadataKey = "data_layout"

    /// The layout a model's metadata declares (NHWC when it says nothing).
    public init(metadata: [String: ConfigValue]) {
        if case let .string(s)? = metadata[Self.metadataKey], let layout = DataLayout(rawValue: s) {
            self = layout
        } else {
            self = .channelsLast
        }
    }

    /// A batch of images in surgeon's NHWC layout; tensors of other ranks are unchanged.
    public func toInternal(_ tensor: Tensor) -> Tensor {
        guard self == .channelsFirst, tensor.rank == 4 else { return tensor }
        return Self.permute(tensor, nchwToNHWC: true)
    }

    /// A batch of NHWC images in the file's layout; tensors of other ranks are unchanged.
    public func toFile(_ tensor: Tensor) -> Tensor {
        guard self == .channelsFirst, tensor.rank == 4 else { return tensor }
        return Self.permute(tensor, nchwToNHWC: false)
    }

    private static func permute(_ t: Tensor, nchwToNHWC: Bool) -> Tensor {
        let perm = nchwToNHWC ? [0, 2, 3, 1] : [0, 3, 1, 2]
        let values = ArrayTranspose.transpose(t.scalars, dims: t.shape, perm: perm)
        return Tensor(shape: perm.map { t.shape[$0] }) { out in
            for k in values.indices { out[k] = values[k] }
        }
    }
}
