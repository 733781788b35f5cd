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
        let s = t.shape
        let (n, c, h, w) = nchwToNHWC ? (s[0], s[1], s[2], s[3]) : (s[0], s[3], s[1], s[2])
        let source = t.scalars
        return Tensor(shape: nchwToNHWC ? [n, h, w, c] : [n, c, h, w]) { out in
            for b in 0..<n {
                for ch in 0..<c {
                    for y in 0..<h {
                        for x in 0..<w {
                            let nchw = ((b * c + ch) * h + y) * w + x
                            let nhwc = ((b * h + y) * w + x) * c + ch
                            if nchwToNHWC { out[nhwc] = source[nchw] } else { out[nchw] = source[nhwc] }
                        }
                    }
                }
            }
        }
    }
}
