import SurgeonCore

/// What a value name of an ONNX file stands for while the reader walks the graph.
enum ONNXValue {
    /// A constant tensor: an initializer, a `Constant`, or a folded result.
    case constant(ONNXConstant)
    /// An integer vector (or scalar, `scalar` true) of shape arithmetic in which some entries are
    /// the batch size, known only when the model runs.
    case shape([ShapeEntry], scalar: Bool)
    /// A tensor computed from the model's input: a node of surgeon's graph.
    case activation(Activation)
    /// An image on its way through a channel shuffle: reshaped to `[N, groups, C / groups, H,
    /// W]`, then (`swapped`) transposed to `[N, C / groups, groups, H, W]`. Only the Reshape back
    /// to `[N, C, H, W]` reads it; it becomes one `ChannelGather`.
    case channelGroups(Activation, groups: Int, swapped: Bool)
}

/// One entry of folded shape arithmetic.
enum ShapeEntry: Equatable, CustomStringConvertible {
    case known(Int64)
    /// The batch size.
    case batch

    var description: String {
        switch self {
        case let .known(v): return "\(v)"
        case .batch: return "N"
        }
    }
}

/// A tensor computed from the model's input, as a node of surgeon's NHWC graph, and how the
/// file lays out the same tensor.
struct Activation {
    /// The surgeon node that computes it.
    var node: String
    /// Its per-sample shape in surgeon's graph (`[H, W, C]` or `[F]`).
    var shape: Shape
    var layout: Layout

    enum Layout: Equatable {
        /// A rank-4 tensor the file holds as NCHW (surgeon's `[H, W, C]`).
        case channelsFirst
        /// A rank-4 tensor the file holds as NHWC: tf2onnx's input before its Transpose, or
        /// the result of `Transpose(0, 2, 3, 1)` before a flatten.
        case channelsLast
        /// A rank-2 tensor `[N, F]`. `permutedFrom` is the `[H, W, C]` of the image it was
        /// flattened from in NCHW order, when that order differs from surgeon's NHWC one.
        case features(permutedFrom: Shape?)
    }

    /// The file's shape without the batch axis.
    var fileShape: [Int] {
        switch layout {
        case .channelsFirst where shape.count == 3: return [shape[2], shape[0], shape[1]]
        default: return shape
        }
    }
}
