import SurgeonCore

/// surgeon's `ChannelGather`: output channel `j` is input channel `indices[j]`, for images
/// `[H, W, C]` and features `[C]` alike. It is what ONNX's channel split (`Split` or `Slice` on
/// axis 1: a range of channels) and ShuffleNet's channel shuffle (Reshape-Transpose-Reshape: a
/// fixed permutation) read as.
///
/// Keras has no such layer (a Keras model does it in a `Lambda`), so a model holding one is
/// written as `.onnx` or `.surgeon`, not `.keras`. Pruning keeps it exact: a deleted input
/// channel takes its output channels with it (`ChannelMap.gathered`), so a shuffle that loses
/// channels becomes a general permutation.
public struct ChannelGather: Layer {
    public static let kerasClassName = "ChannelGather"
    public static let hasKerasClass = false
    /// For each output channel, the input channel it copies.
    public let indices: [Int]
    public var weights: [Tensor] = []

    public init(indices: [Int]) throws {
        guard !indices.isEmpty, indices.allSatisfy({ $0 >= 0 }) else {
            throw LayerError.config(
                .invalid(
                    key: "indices", value: "\(indices.prefix(16))",
                    expected: "a non-empty list of input channel numbers (0 or more)"))
        }
        self.indices = indices
    }

    public init(config: LayerConfig) throws {
        try self.init(
            indices: config.intList("indices", expected: "a non-empty list of input channel numbers (0 or more)"))
    }

    /// The channel split `start..<end`.
    public static func range(_ channels: Range<Int>) throws -> ChannelGather {
        try ChannelGather(indices: Array(channels))
    }

    /// ShuffleNet's channel shuffle of `channels` channels in `groups` groups (`ChannelShuffle`).
    public static func shuffle(channels: Int, groups: Int) throws -> ChannelGather {
        guard let indices = ChannelShuffle.indices(channels: channels, groups: groups) else {
            throw LayerError.config(
                .invalid(
                    key: "groups", value: "\(groups)", expected: "a positive divisor of the \(channels) channels"))
        }
        return try ChannelGather(indices: indices)
    }

    public var config: LayerConfig { LayerConfig(["indices": .array(indices.map { .number(Double($0)) })]) }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try singleInput(inputShapes)
        guard let channels = input.last, input.count == 3 || input.count == 1 else {
            throw LayerError.inputShape(
                "ChannelGather expects an image [height, width, channels] or features [channels], got \(input)")
        }
        if let bad = indices.first(where: { $0 >= channels }) {
            throw LayerError.inputShape(
                "ChannelGather takes channel \(bad) of an input with \(channels) channels; it accepts 0..<\(channels)")
        }
        return Array(input.dropLast()) + [indices.count]
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let outputShape = [x.shape[0]] + (try self.outputShape(for: [Array(x.shape.dropFirst())]))
        let c = x.shape.last ?? 1, m = indices.count
        let rows = x.count / max(c, 1)
        var y = Tensor(shape: outputShape)
        indices.withUnsafeBufferPointer { idx in
            x.scalars.withUnsafeBufferPointer { xb in
                y.scalars.withUnsafeMutableBufferPointer { yb in
                    for row in 0..<rows {
                        let src = row * c, dst = row * m
                        for j in 0..<m { yb[dst + j] = xb[src + idx[j]] }
                    }
                }
            }
        }
        return LayerOutput(y)
    }

    /// Each output channel's gradient added back into the channel it came from; input channels
    /// not gathered get zero.
    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        let c = x.shape.last ?? 1, m = indices.count
        let rows = x.count / max(c, 1)
        try checkGradientShape(outputGradient, Array(x.shape.dropLast()) + [m], layer: Self.kerasClassName)
        var dx = Tensor(shape: x.shape)
        indices.withUnsafeBufferPointer { idx in
            outputGradient.scalars.withUnsafeBufferPointer { gb in
                dx.scalars.withUnsafeMutableBufferPointer { db in
                    for row in 0..<rows {
                        let src = row * m, dst = row * c
                        for j in 0..<m { db[dst + idx[j]] += gb[src + j] }
                    }
                }
            }
        }
        return LayerGradients(inputs: [dx])
    }
}

// MARK: - Surgery

extension ChannelGather: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .gathered(indices) }

    /// The kept output channels, renumbered into the kept input channels. An output channel and
    /// its source are one channel set, so both survive or neither does.
    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        let kept = try singleInput(keptInputs)
        var position = [Int: Int](minimumCapacity: kept.count)
        for (k, c) in kept.enumerated() { position[c] = k }
        var renumbered: [Int] = []
        renumbered.reserveCapacity(keptOutputs.count)
        for j in keptOutputs {
            guard j >= 0, j < indices.count, let k = position[indices[j]] else {
                throw LayerError.unsupported(
                    "ChannelGather keeps output channel \(j) but not input channel "
                        + "\(j >= 0 && j < indices.count ? "\(indices[j])" : "?") it copies")
            }
            renumbered.append(k)
        }
        return try ChannelGather(indices: renumbered)
    }
}

// MARK: - Examples

extension ChannelGather {
    public static var examples: [LayerExample] {
        [
            LayerExample("ChannelGather as a channel shuffle (6 channels, 2 groups)", channels: 6) {
                try ChannelGather.shuffle(channels: 6, groups: 2)
            },
            LayerExample("ChannelGather as a channel split (channels 2..<5 of 6)", channels: 6) {
                try ChannelGather.range(2..<5)
            },
            LayerExample("ChannelGather of features, with a repeat", flatInput: true, channels: 5) {
                try ChannelGather(indices: [4, 0, 0, 2])
            },
            LayerExample("ChannelGather from its config", channels: 4) {
                try ChannelGather(config: LayerConfig(["indices": [3, 1, 2]]))
            },
        ]
    }
}
