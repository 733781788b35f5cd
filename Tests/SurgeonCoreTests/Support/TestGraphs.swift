import SurgeonCore

/// Seeded random graphs of test layers for the surgery property test: chains of projections,
/// affine maps and rectifiers, fan-outs with multipliers, residual sums (of two or three
/// branches), joins, sums of joins and joins of sums, dead branches, mean and flatten heads,
/// a probabilities head, and several outputs. The same seed gives the same graph.
enum TestGraphs {
    static func random(seed: UInt64) throws -> Graph {
        var maker = Maker(seed: seed)
        return try maker.build()
    }

    /// input [6,6,3] -+-> conv_a [6,6,4] -+-> add [6,6,4] -> concat [6,6,8] -> gap [8] -> dense [3]
    ///                +-> conv_b [6,6,4] -+                   ^
    ///                    conv_a ----------------------------+
    static func residual() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(Source(shape: [6, 6, 3]), name: "input")
        let a = b.add(Projection(units: 4), name: "conv_a", inputs: [x])
        let c = b.add(Projection(units: 4, useBias: false), name: "conv_b", inputs: [x])
        let s = b.add(Sum(), name: "add", inputs: [a, c])
        let cat = b.add(Join(), name: "concat", inputs: [s, a])
        let g = b.add(ChannelMean(), name: "gap", inputs: [cat])
        let d = b.add(Projection(units: 3), name: "dense", inputs: [g])
        return try b.build(outputs: [d], seed: 3)
    }
}

private struct Maker {
    var random: SeededRandom
    var b = GraphBuilder()
    /// Image tensors made so far (all `[H, W, C]` with one H and W): name and channels.
    var images: [(name: String, channels: Int)] = []
    let seed: UInt64

    init(seed: UInt64) {
        self.seed = seed
        random = SeededRandom(seed: seed)
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(random.next() % UInt64(range.count))
    }

    /// Mostly the newest image (a chain), sometimes an earlier one (a branch).
    mutating func source() -> (name: String, channels: Int) {
        int(0...3) == 0 ? images[int(0...(images.count - 1))] : images[images.count - 1]
    }

    @discardableResult
    mutating func image(_ layer: any Layer, _ inputs: [String], channels: Int) -> (name: String, channels: Int) {
        let t = (name: b.add(layer, inputs: inputs), channels: channels)
        images.append(t)
        return t
    }

    /// A projection, then sometimes an affine map and a rectifier.
    @discardableResult
    mutating func block(from input: String, units: Int) -> (name: String, channels: Int) {
        var t = image(Projection(units: units, useBias: int(0...3) != 0), [input], channels: units)
        if int(0...2) != 0 { t = image(ChannelAffine(), [t.name], channels: units) }
        if int(0...1) == 0 { t = image(Rectifier(), [t.name], channels: units) }
        return t
    }

    mutating func build() throws -> Graph {
        let height = int(2...4), width = int(2...4), c0 = int(1...3)
        images = [(b.add(Source(shape: [height, width, c0]), name: "input"), c0)]
        block(from: images[0].name, units: int(2...6))
        for _ in 0..<int(2...7) {
            switch int(0...5) {
            case 0:
                let from = source()
                block(from: from.name, units: int(2...6))
            case 1:
                let from = source(), m = int(1...3)
                image(FanOut(multiplier: m), [from.name], channels: from.channels * m)
            case 2:
                let main = images[images.count - 1]
                var branches = [main.name]
                for _ in 0..<int(1...2) { branches.append(block(from: source().name, units: main.channels).name) }
                image(Sum(), branches, channels: main.channels)
            case 3:
                let parts = (0..<int(2...3)).map { _ in source() }
                image(Join(), parts.map(\.name), channels: parts.reduce(0) { $0 + $1.channels })
            case 4:
                // A dead branch: computed, never read, not an output.
                b.add(Projection(units: int(1...3)), inputs: [source().name])
            default:
                let from = source()
                image(Rectifier(), [from.name], channels: from.channels)
            }
        }
        var outputs: [String] = []
        for k in 0..<int(1...3) {
            let from = k == 0 ? images[images.count - 1] : source()
            switch int(0...4) {
            case 0:
                outputs.append(from.name)  // an image output pins its group
            case 1, 2:
                let m = b.add(ChannelMean(), inputs: [from.name])
                outputs.append(b.add(Projection(units: int(2...4)), inputs: [m]))
            default:
                let f = b.add(Flat(), inputs: [from.name])
                outputs.append(b.add(Projection(units: int(2...4)), inputs: [f]))
            }
            if k == 0, int(0...2) == 0, outputs[0] != from.name {
                outputs[0] = b.add(Probabilities(), inputs: [outputs[0]])
            }
        }
        return try b.build(outputs: Array(Set(outputs)).sorted(), seed: seed)
    }
}
