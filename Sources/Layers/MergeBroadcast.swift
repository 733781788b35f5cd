import SurgeonCore

/// How the inputs of an element-wise merge (Add, Subtract, Multiply, Average, Maximum) meet:
/// NumPy broadcasting of the per-sample shapes, as Keras's merge layers do, so that
/// squeeze-excitation's `[H, W, C] * [1, 1, C]` works in either order.
///
/// Shapes are aligned at the right (a shorter shape gains leading axes of extent 1); on each
/// axis every input has the output's extent or 1. The batch axis is never broadcast. A forward
/// pass expands each input to the output shape (`expand`, free for an input that already has
/// it); a backward pass sums a full-size gradient back over the axes an input was broadcast
/// along (`reduce`).
struct MergeLayout {
    /// The output's batch shape, batch axis first.
    let shape: [Int]
    /// Each input's batch shape, left-padded with 1s to the output's rank.
    let aligned: [[Int]]

    /// The per-sample output shape of inputs with these per-sample shapes, or an error naming
    /// them. Needs at least two inputs.
    static func outputShape(_ shapes: [Shape], layer: String) throws -> Shape {
        guard shapes.count >= 2 else { throw LayerError.inputCount(expected: "at least 2", actual: shapes.count) }
        guard shapes.allSatisfy({ !$0.isEmpty }) else {
            throw LayerError.inputShape(
                "\(layer) needs inputs with an axis besides the batch axis; got "
                    + shapes.map { "\($0)" }.joined(separator: ", "))
        }
        let rank = shapes.map(\.count).max() ?? 0
        var out = [Int](repeating: 1, count: rank)
        for shape in shapes {
            let padded = [Int](repeating: 1, count: rank - shape.count) + shape
            for a in 0..<rank where padded[a] != out[a] {
                guard out[a] == 1 || padded[a] == 1 else {
                    throw LayerError.inputShape(
                        "\(layer) needs inputs of one shape, or shapes that broadcast (each axis equal or 1); got "
                            + shapes.map { "\($0)" }.joined(separator: ", "))
                }
                if out[a] == 1 { out[a] = padded[a] }
            }
        }
        return out
    }

    /// The layout of a batch: per-sample shapes first (the error a graph user sees), then batch
    /// sizes.
    init(_ inputs: [Tensor], layer: String) throws {
        let sample = try MergeLayout.outputShape(inputs.map { Array($0.shape.dropFirst()) }, layer: layer)
        let batches = inputs.map { $0.shape.first ?? 0 }
        guard batches.allSatisfy({ $0 == batches[0] }) else {
            throw LayerError.inputShape(
                "\(layer) needs inputs of one batch size; got \(batches.map(String.init).joined(separator: ", "))")
        }
        shape = [batches[0]] + sample
        aligned = inputs.map { x in
            [batches[0]] + [Int](repeating: 1, count: sample.count + 1 - x.rank) + Array(x.shape.dropFirst())
        }
    }

    /// Input `k`'s value `x` repeated along its broadcast axes to the output shape.
    func expand(_ k: Int, _ x: Tensor) -> Tensor {
        // Same element count: only leading axes of extent 1 differ, so the reshape cannot fail.
        guard aligned[k] != shape else { return x.shape == shape ? x : (try? x.reshaped(shape)) ?? x }
        let (rows, channels) = rowsAndChannels
        let sources = inputRows(k)
        let own = aligned[k].last ?? 1
        return Tensor(shape: shape) { out in
            x.scalars.withUnsafeBufferPointer { src in
                for r in 0..<rows {
                    let o = r * channels, s = sources[r] * own
                    if own == channels {
                        for j in 0..<channels { out[o + j] = src[s + j] }
                    } else {
                        for j in 0..<channels { out[o + j] = src[s] }
                    }
                }
            }
        }
    }

    /// A gradient `g` of the output's shape summed over input `k`'s broadcast axes: dLoss/dInput
    /// for an input that was expanded with `expand`.
    func reduce(_ k: Int, _ g: Tensor, to inputShape: [Int]) -> Tensor {
        guard aligned[k] != shape else { return g.shape == inputShape ? g : (try? g.reshaped(inputShape)) ?? g }
        let (rows, channels) = rowsAndChannels
        let targets = inputRows(k)
        let own = aligned[k].last ?? 1
        var sums = [Double](repeating: 0, count: Tensor.elementCount(of: aligned[k]))
        g.scalars.withUnsafeBufferPointer { gs in
            for r in 0..<rows {
                let o = r * channels, t = targets[r] * own
                if own == channels {
                    for j in 0..<channels { sums[t + j] += Double(gs[o + j]) }
                } else {
                    for j in 0..<channels { sums[t] += Double(gs[o + j]) }
                }
            }
        }
        return Tensor(shape: inputShape) { out in
            for i in 0..<out.count { out[i] = Float(sums[i]) }
        }
    }

    /// Rows (every axis but the last, batch included) and channels (the last axis) of the output.
    private var rowsAndChannels: (rows: Int, channels: Int) {
        let channels = shape.last ?? 1
        return (Tensor.elementCount(of: shape) / max(channels, 1), channels)
    }

    /// For each output row, the row of input `k` it reads.
    private func inputRows(_ k: Int) -> [Int] {
        broadcastOffsets(Array(shape.dropLast()), from: Array(aligned[k].dropLast()))
    }
}

/// For each element of a row-major tensor of `shape`, the flat index of the element it reads in
/// a tensor of `source` shape broadcast to it (same rank, each extent equal to `shape`'s or 1).
func broadcastOffsets(_ shape: [Int], from source: [Int]) -> [Int] {
    var strides = [Int](repeating: 0, count: shape.count)
    var step = 1
    for a in shape.indices.reversed() {
        strides[a] = source[a] == shape[a] ? step : 0
        step *= source[a]
    }
    let count = shape.reduce(1, *)
    var result = [Int](repeating: 0, count: count)
    var index = [Int](repeating: 0, count: shape.count)
    var offset = 0
    for i in 0..<count {
        result[i] = offset
        var a = shape.count - 1
        while a >= 0 {
            index[a] += 1
            offset += strides[a]
            if index[a] < shape[a] { break }
            offset -= strides[a] * shape[a]
            index[a] = 0
            a -= 1
        }
    }
    return result
}

/// An element-wise merge of inputs whose shapes broadcast (`Add`, `Subtract`, `Multiply`,
/// `Average`, `Maximum`): no configuration and no weights. Its surgery ties channel `i` of
/// every input and of the output, so the branches are pruned together; a squeeze-excitation
/// gate `[1, 1, C]` shares channel `i` with the feature map it scales.
public protocol ElementwiseMerge: SurgeryRule {
    init()
}

extension ElementwiseMerge {
    public init(config: LayerConfig) throws { self.init() }

    public var config: LayerConfig { LayerConfig() }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        try MergeLayout.outputShape(inputShapes, layer: Self.kerasClassName)
    }

    /// `.tied`, unless an input is broadcast along the channel axis (one channel spread over
    /// all), whose channels could not be deleted in step with the others.
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap {
        let layer = Self.kerasClassName
        let out = try MergeLayout.outputShape(inputShapes, layer: layer)
        for (k, shape) in inputShapes.enumerated() where shape.last != out.last {
            throw LayerError.unsupported(
                "\(layer) broadcasts input \(k) of shape \(shape) over \(out.last ?? 1) channels; "
                    + "surgery supports broadcasting over the other axes only (each input with the output's channel "
                    + "count)"
            )
        }
        return .tied
    }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}
