import SurgeonCore

/// Channel splits and shuffles: `Split`, `Slice` and `Gather` on the channel axis, and
/// ShuffleNet's `Reshape [N, g, C/g, H, W] → Transpose [0, 2, 1, 3, 4] → Reshape [N, C, H, W]`
/// (ONNX-FORMAT.md 2.5). Each becomes a `ChannelGather` (output channel `j` is input channel
/// `indices[j]`), which surgery prunes through.
extension ONNXGraphReader {
    static func channelGroupsMessage(_ name: String) -> String {
        "'\(name)' is an image reshaped to [N, groups, C / groups, H, W]; surgeon reads that only as ShuffleNet's "
            + "channel shuffle: Transpose [0, 2, 1, 3, 4], then a Reshape back to [N, C, H, W]"
    }

    /// The file's rank of `x` and its channel axis there, for the tensors a channel op may read:
    /// NCHW and NHWC images and unpermuted features.
    private func channelAxis(of x: Activation, _ r: ONNXNodeReader) throws(ONNXError) -> (rank: Int, axis: Int) {
        switch x.layout {
        case .channelsFirst where x.shape.count == 3: return (4, 1)
        case .channelsLast where x.shape.count == 3: return (4, 3)
        case .features(nil) where x.shape.count == 1: return (2, 1)
        default:
            throw r.fail(
                "input of shape \(x.fileShape): surgeon maps \(r.op) on the channels of images [N, C, H, W] and of "
                    + "features [N, F] only")
        }
    }

    /// `axis` (possibly negative) checked to be the channel axis of `x`.
    private func requireChannelAxis(_ axis: Int, of x: Activation, _ r: ONNXNodeReader) throws(ONNXError) {
        let (rank, channel) = try channelAxis(of: x, r)
        guard (axis < 0 ? axis + rank : axis) == channel else {
            throw r.fail(
                "\(r.op) on axis \(axis) of a tensor of shape \(x.fileShape) is not supported; surgeon maps it on the "
                    + "channel axis (\(channel)) only")
        }
    }

    /// A `ChannelGather` of `x`'s channels, or `x` itself when `indices` keeps them all in order.
    mutating func gatherChannels(
        _ x: Activation, _ indices: [Int], name: String, _ r: ONNXNodeReader
    ) throws(ONNXError) -> Activation {
        let channels = x.shape.last ?? 0
        if indices == Array(0..<channels) { return x }
        return try emit(
            "ChannelGather", ["indices": .array(indices.map { .number(Double($0)) })], inputs: [x], name: name,
            layout: x.layout, r)
    }

    /// `Split` on the channel axis: one `ChannelGather` per output that something reads.
    mutating func mapSplit(_ r: ONNXNodeReader) throws(ONNXError) {
        try r.checkAttributes(["axis", "split", "num_outputs"])
        let x = try activation(r.input(0), r)
        try requireChannelAxis(try r.int("axis", default: 0), of: x, r)
        let channels = x.shape.last ?? 0
        let outputs = r.node.output.count
        var sizes: [Int]
        if opset < 13 {
            sizes = try r.ints("split", default: [])
        } else if let name = r.input(1) {
            sizes = (try constant(name, r, what: "split").ints ?? []).map { Int(clamping: $0) }
        } else {
            sizes = []
        }
        if sizes.isEmpty {
            let parts = try r.int("num_outputs", default: outputs, in: 1...max(1, channels))
            guard parts == outputs else {
                throw r.fail("num_outputs is \(parts) but the node has \(outputs) outputs")
            }
            // Opset 18: chunks of ceil(C / n), the last one smaller; before it the split must be even.
            let chunk = (channels + parts - 1) / parts
            guard r.node.attribute.contains(where: { $0.name == "num_outputs" }) || channels % parts == 0 else {
                throw r.fail("\(channels) channels do not split evenly into \(parts) outputs")
            }
            sizes = (0..<parts).map { k in max(0, min(chunk, channels - k * chunk)) }
        }
        // Each size checked before the sum, so that sizes from the file cannot overflow it.
        guard sizes.count == outputs, sizes.allSatisfy({ (1...max(1, channels)).contains($0) }),
            sizes.reduce(0, { $0 > channels ? $0 : $0 + $1 }) == channels
        else {
            throw r.fail(
                "split sizes \(sizes.prefix(16))\(sizes.count > 16 ? " (\(sizes.count) in all)" : "") for "
                    + "\(outputs) outputs of \(channels) channels: expected \(outputs) positive sizes that add up to "
                    + "\(channels)")
        }
        var start = 0
        for (k, size) in sizes.enumerated() {
            defer { start += size }
            let name = r.node.output[k]
            guard !name.isEmpty, (readers[name] ?? 0) > 0 else { continue }
            let part = try gatherChannels(x, Array(start..<(start + size)), name: nodeName(r), r)
            try define(r, .activation(part), output: k)
        }
    }

    /// `Gather` of a computed tensor's channels with constant 1-D indices.
    mutating func mapChannelGather(_ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        try r.checkAttributes(["axis"])
        let x = try activation(r.input(0), r)
        try requireChannelAxis(try r.int("axis", default: 0), of: x, r)
        let given = try constant(r.input(1), r, what: "indices")
        guard let ints = given.ints, given.dims.count == 1 else {
            throw r.fail(
                "the indices have shape \(given.dims); surgeon maps a Gather of channels with a 1-D integer list "
                    + "(a scalar index would drop the channel axis)")
        }
        let channels = x.shape.last ?? 0
        var indices: [Int] = []
        indices.reserveCapacity(ints.count)
        for i in ints {
            guard i >= -Int64(channels), i < Int64(channels) else {
                throw r.fail("index \(i) is outside the \(channels) channels (accepted: -\(channels)..<\(channels))")
            }
            indices.append(Int(i < 0 ? i + Int64(channels) : i))
        }
        return try gatherChannels(x, indices, name: nodeName(r), r)
    }

    /// The channels `begin..<end` in steps of `step` (a Slice on the channel axis).
    mutating func sliceChannels(
        _ x: Activation, begin: Int, end: Int, step: Int, _ r: ONNXNodeReader
    ) throws(ONNXError) -> Activation {
        let indices = Array(stride(from: begin, to: end, by: step))
        guard !indices.isEmpty else { throw r.fail("the slice of channels \(begin)..<\(end) is empty") }
        return try gatherChannels(x, indices, name: nodeName(r), r)
    }

    /// The Reshapes of a channel shuffle; false when the Reshape is not one.
    mutating func mapChannelShuffleReshape(_ r: ONNXNodeReader) throws(ONNXError) -> Bool {
        guard let source = r.input(0), let value = values[source], let shapeName = r.input(1),
            let target = integers(shapeName), !target.scalar
        else { return false }
        try r.checkAttributes(["allowzero"])
        func withBatch(_ dims: [Int]) -> [ShapeEntry] { [.batch] + dims.map { .known(Int64($0)) } }
        switch value {
        case let .activation(x):
            guard x.layout == .channelsFirst, x.shape.count == 3 else { return false }
            let entries = try reshapeTarget(target.entries, of: withBatch(x.fileShape), r)
            guard entries.count == 5, entries[0] == .batch || entries[0] == .known(-1),
                var rest = Self.knownInts(Array(entries.dropFirst())).map({ $0.map { Int(clamping: $0) } })
            else { return false }
            let (h, w, c) = (x.shape[0], x.shape[1], x.shape[2])
            if rest.filter({ $0 == -1 }).count == 1, let k = rest.firstIndex(of: -1) {
                let known = rest.filter { $0 != -1 }.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
                if known > 0, (c * h * w) % known == 0 { rest[k] = (c * h * w) / known }
            }
            guard rest.count == 4, rest[0] >= 1, rest[1] >= 1,
                rest[0].multipliedReportingOverflow(by: rest[1]) == (c, false),
                rest[2] == h, rest[3] == w
            else {
                throw r.fail(
                    "a Reshape of an image \(x.fileShape) to \(entries): surgeon reads a 5-D Reshape only as the start "
                        + "of a channel shuffle, [N, groups, \(c) / groups, \(h), \(w)]")
            }
            try define(r, .channelGroups(x, groups: rest[0], swapped: false))
            return true
        case let .channelGroups(x, groups, swapped):
            let (h, w, c) = (x.shape[0], x.shape[1], x.shape[2])
            let grouped = swapped ? [c / groups, groups, h, w] : [groups, c / groups, h, w]
            let entries = try reshapeTarget(target.entries, of: withBatch(grouped), r)
            let batchFirst = entries.first == .batch || entries.first == .known(-1)
            let back = entries.dropFirst().map { e -> Int? in
                guard case let .known(v) = e else { return nil }
                return Int(clamping: v)
            }
            guard entries.count == 4, batchFirst, back[0] == c || back[0] == -1, back[1] == h, back[2] == w else {
                throw r.fail(
                    "a Reshape of a [N, \(swapped ? "\(c / groups), \(groups)" : "\(groups), \(c / groups)"), \(h), "
                        + "\(w)] tensor to \(entries): surgeon reads only the channel shuffle's Reshape back to "
                        + "[N, \(c), \(h), \(w)]")
            }
            let indices = swapped ? ChannelShuffle.indices(channels: c, groups: groups) ?? [] : Array(0..<c)
            try define(r, .activation(try gatherChannels(x, indices, name: nodeName(r), r)))
            return true
        default:
            return false
        }
    }

    /// The Transpose of a channel shuffle; false when the input is not a shuffle's 5-D Reshape.
    mutating func mapChannelShuffleTranspose(_ r: ONNXNodeReader) throws(ONNXError) -> Bool {
        guard let source = r.input(0), case let .channelGroups(x, groups, swapped)? = values[source] else {
            return false
        }
        try r.checkAttributes(["perm"])
        guard !swapped, try r.ints("perm", default: []) == [0, 2, 1, 3, 4] else {
            throw r.fail(
                "Transpose \(try r.ints("perm", default: [])) of \(Self.channelGroupsMessage(source)); the Transpose "
                    + "must be [0, 2, 1, 3, 4], once")
        }
        try define(r, .channelGroups(x, groups: groups, swapped: true))
        return true
    }
}
