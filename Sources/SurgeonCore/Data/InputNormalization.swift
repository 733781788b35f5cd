/// How raw input arrays become network inputs: integer images (uint8 grey levels) are divided
/// by 255 to [0, 1]; float arrays are taken as they are; then `(x - mean[c]) / std[c]` per
/// channel. Stored with the model so that `eval` and `predict` see what `train` saw.
public struct InputNormalization: Sendable, Codable, Equatable {
    /// Per-channel means (one value applies to every channel).
    public var mean: [Float]
    /// Per-channel standard deviations (one value applies to every channel).
    public var std: [Float]

    public init(mean: [Float] = [0], std: [Float] = [1]) {
        self.mean = mean
        self.std = std
    }

    /// Scaling to [0, 1] only.
    public static let unitRange = InputNormalization()

    /// Applies the normalisation to `tensor` (already divided by 255 when it came from integers).
    public func apply(to tensor: Tensor) throws(DataError) -> Tensor {
        if mean == [0] && std == [1] { return tensor }
        let c = tensor.channelCount
        let m = mean.count == 1 ? [Float](repeating: mean[0], count: c) : mean
        let s = std.count == 1 ? [Float](repeating: std[0], count: c) : std
        guard m.count == c, s.count == c else {
            throw .normalization(
                "mean/std give \(mean.count)/\(std.count) values for data with \(c) channels; give 1 or \(c)")
        }
        guard s.allSatisfy({ $0 > 0 }) else { throw .normalization("std values must be positive, got \(std)") }
        var out = tensor
        out.scaleChannels(by: s.map { 1 / $0 })
        out.addChannelBias(Tensor(shape: [c], repeating: 0).with(m.enumerated().map { -$0.element / s[$0.offset] }))
        return out
    }
}

extension Tensor {
    /// A copy holding `values` (same count).
    func with(_ values: [Float]) -> Tensor { Tensor(uncheckedShape: shape, scalars: values) }
}
