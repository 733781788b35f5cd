/// ShuffleNet's channel shuffle as channel indices: `C` channels seen as a `[groups, C / groups]`
/// matrix and transposed, so output channel `j` is input channel
/// `(j % groups) · (C / groups) + j / groups`. The ONNX reader and writer and the
/// `ChannelGather` layer share it.
public enum ChannelShuffle {
    /// The shuffle's indices, or nil when `groups` is not a positive divisor of `channels`.
    public static func indices(channels: Int, groups: Int) -> [Int]? {
        guard groups > 0, channels > 0, channels % groups == 0 else { return nil }
        let perGroup = channels / groups
        return (0..<channels).map { j in (j % groups) * perGroup + j / groups }
    }

    /// The number of groups (more than one) when `indices` is exactly a shuffle of
    /// `indices.count` channels, else nil.
    public static func groups(of indices: [Int]) -> Int? {
        let c = indices.count
        guard c >= 4, indices[1] > 0, c % indices[1] == 0 else { return nil }
        // Output channel 1 is input channel C / groups.
        let groups = c / indices[1]
        return groups > 1 && groups < c && self.indices(channels: c, groups: groups) == indices ? groups : nil
    }
}
