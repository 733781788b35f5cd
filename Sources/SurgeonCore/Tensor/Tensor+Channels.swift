/// Per-channel operations on tensors whose last axis is the channel axis (NHWC, or `[N, C]`).
extension Tensor {
    /// The extent of the last axis.
    public var channelCount: Int { shape.last ?? 1 }

    /// Adds `bias[c]` to every element of channel `c`.
    public mutating func addChannelBias(_ bias: Tensor) {
        let c = channelCount
        precondition(bias.count == c, "bias of \(bias.count) for \(c) channels")
        guard c > 0, count > 0 else { return }
        let rows = count / c
        scalars.withUnsafeMutableBufferPointer { y in
            bias.scalars.withUnsafeBufferPointer { b in
                ChannelKernels.addToRows(b.baseAddress!, into: y.baseAddress!, rows: rows, channels: c)
            }
        }
    }

    /// The sum over every axis but the last, per channel (e.g. a bias gradient).
    public func channelSums() -> Tensor {
        let c = channelCount
        guard c > 0, count > 0 else { return Tensor(shape: [c]) }
        let sums = scalars.withUnsafeBufferPointer { y in
            ChannelKernels.columnSums(y.baseAddress!, rows: count / c, channels: c)
        }
        return Tensor(uncheckedShape: [c], scalars: sums.map { Float($0) })
    }

    /// Multiplies every element of channel `c` by `factor[c]`.
    public mutating func scaleChannels(by factor: [Float]) {
        let c = channelCount
        precondition(factor.count == c)
        scalars.withUnsafeMutableBufferPointer { y in
            var base = 0
            while base < y.count {
                for j in 0..<c { y[base + j] *= factor[j] }
                base += c
            }
        }
    }

    /// Glorot (Xavier) uniform values: U(-l, l) with l = sqrt(6 / (fanIn + fanOut)), Keras's
    /// default kernel initialiser (Glorot & Bengio, AISTATS 2010).
    public static func glorotUniform(shape: [Int], fanIn: Int, fanOut: Int, random: inout SeededRandom) -> Tensor {
        let limit = Float((6.0 / Double(max(fanIn + fanOut, 1))).squareRoot())
        var t = Tensor(shape: shape)
        for i in 0..<t.count { t.scalars[i] = random.nextFloat(in: -limit, limit) }
        return t
    }
}
