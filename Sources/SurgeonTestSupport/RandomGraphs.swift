import Layers
import SurgeonCore

/// Seeded random functional graphs for the surgery property test: chains, residual Adds,
/// Concatenates, Add of Concatenates, Concatenate of Adds, Multiply, depthwise convolutions with
/// multipliers, pooling, padding, Flatten -> Dense and global-pooling heads, dead branches and
/// several outputs; squeeze-excitation blocks (a broadcasting Multiply), Average, Maximum and
/// Subtract, PReLU, LeakyReLU, Rescaling, Normalization, channel-keeping Reshapes and Dropout
/// with a noise shape. The same seed gives the same graph.
///
/// One more arm iterates the registry, so that a new layer type gets property-test coverage
/// without an edit here: after each step, now and then, it inserts a random example of a
/// random registered type (see `insertableExamples`) on a random image, with same-padded
/// convolutions feeding its other inputs or giving it the channel count it names; a result
/// that is not an image gets its own Dense output. That arm draws from a stream of its own, so
/// the other arms draw the numbers they drew before it existed.
public enum RandomGraphs {
    public static func make(seed: UInt64, registry: LayerRegistry = .standard) throws -> Graph {
        var maker = Maker(seed: seed, catalogue: insertableExamples(registry).map(\.examples))
        return try maker.build()
    }

    /// For each type of `registry` with a surgery rule, in name order, its examples whose inputs
    /// are all images (one, or several of one shape); types without such an example are left
    /// out. The registry arm draws a type, then one of its examples.
    public static func insertableExamples(_ registry: LayerRegistry) -> [(type: String, examples: [LayerExample])] {
        registry.surgeryRuleNames.compactMap { name in
            guard let type = registry.type(named: name) else { return nil }
            let examples = type.examples.filter { !$0.inputForms.isEmpty && $0.inputForms.allSatisfy { $0 == .image } }
            return examples.isEmpty ? nil : (type: name, examples: examples)
        }
    }
}

private struct Maker {
    var random: SeededRandom
    /// The registry arm's own stream (swapped into `random` while it runs).
    var registryRandom: SeededRandom
    /// Per type, the examples the registry arm may insert.
    let catalogue: [[LayerExample]]
    var b = GraphBuilder()
    /// Image tensors made so far: name and shape [H, W, C].
    var images: [(name: String, shape: Shape)] = []
    /// Dense heads of the registry arm's non-image results, added to the graph's outputs.
    var extraOutputs: [String] = []
    let seed: UInt64

    init(seed: UInt64, catalogue: [[LayerExample]]) {
        self.seed = seed
        self.catalogue = catalogue
        random = SeededRandom(seed: seed)
        registryRandom = SeededRandom(seed: seed ^ 0x7E61_5747)
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(random.next() % UInt64(range.count))
    }

    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    /// Mostly the newest tensor (a chain), sometimes an earlier one (a branch).
    mutating func source() -> (name: String, shape: Shape) {
        int(0...3) == 0 ? pick(images) : images.last!
    }

    mutating func add(_ layer: any Layer, _ inputs: [String]) throws -> (name: String, shape: Shape) {
        let name = b.add(layer, inputs: inputs)
        let shape = try Graph(nodes: b.nodes, outputs: [name]).shapes.last!
        return (name, shape)
    }

    mutating func image(_ layer: any Layer, _ inputs: [String]) throws -> (name: String, shape: Shape) {
        let t = try add(layer, inputs)
        images.append(t)
        return t
    }

    mutating func conv(
        _ input: String, filters: Int, shape: Shape, allowStride: Bool = true
    ) throws -> (name: String, shape: Shape) {
        let kernel = pick([1, 3])
        let fits = shape[0] >= kernel && shape[1] >= kernel
        let padding: Padding = fits && int(0...3) == 0 ? .valid : .same
        let stride = allowStride && min(shape[0], shape[1]) >= 4 && int(0...3) == 0 ? 2 : 1
        let activation = pick([ActivationFunction.linear, .relu, .relu6, .tanh, .swish])
        return try image(
            Conv2D(
                filters: filters, kernelSize: [kernel, kernel], strides: [stride, stride], padding: padding,
                useBias: int(0...1) == 0, activation: activation), [input])
    }

    /// A same-padded, stride-1 convolution, so that its output can meet its input's spatial size.
    mutating func sameConv(_ input: String, filters: Int) throws -> (name: String, shape: Shape) {
        try image(
            Conv2D(filters: filters, kernelSize: [pick([1, 3]), 3], padding: .same, useBias: int(0...1) == 0), [input])
    }

    mutating func build() throws -> Graph {
        let h = int(5...9), w = int(5...9), c = int(1...3)
        images.append((b.add(InputLayer(shape: [h, w, c]), name: "input"), [h, w, c]))
        _ = try conv(images[0].name, filters: int(2...6), shape: images[0].shape)
        for _ in 0..<int(3...8) {
            let t = source()
            switch int(0...19) {
            case 0:
                _ = try conv(t.name, filters: int(2...6), shape: t.shape)
            case 1:
                let stride = min(t.shape[0], t.shape[1]) >= 4 && int(0...2) == 0 ? 2 : 1
                _ = try image(
                    DepthwiseConv2D(
                        kernelSize: [3, 3], strides: [stride, stride], padding: .same,
                        depthMultiplier: int(1...3), useBias: int(0...1) == 0), [t.name])
            case 2:
                let n = try image(BatchNormalization(momentum: 0.9), [t.name])
                _ = try image(ReLU(maxValue: pick([nil, 6]), negativeSlope: pick([0, 0.1])), [n.name])
            case 3:
                var y = try sameConv(t.name, filters: t.shape[2])
                y = try image(BatchNormalization(), [y.name])
                _ = try image(Add(), [t.name, y.name])
            case 4:
                let a = try sameConv(t.name, filters: int(1...4)), d = try sameConv(t.name, filters: int(1...4))
                _ = try image(Concatenate(), [a.name, d.name])
            case 5:
                let f1 = int(1...3), f2 = int(1...3), f3 = int(1...(f1 + f2 - 1))
                let a = try sameConv(t.name, filters: f1), bb = try sameConv(t.name, filters: f2)
                let cc = try sameConv(t.name, filters: f3), dd = try sameConv(t.name, filters: f1 + f2 - f3)
                let left = try image(Concatenate(), [a.name, bb.name]),
                    right = try image(Concatenate(), [cc.name, dd.name])
                _ = try image(Add(), [left.name, right.name])
            case 6:
                let f = int(1...4)
                let a = try sameConv(t.name, filters: f), bb = try sameConv(t.name, filters: f)
                let sum = try image(Add(), [a.name, bb.name])
                let other = try sameConv(t.name, filters: int(1...3))
                _ = try image(Concatenate(), int(0...1) == 0 ? [sum.name, other.name] : [other.name, sum.name])
            case 7:
                let size = min(t.shape[0], t.shape[1]) >= 4 ? 2 : 1
                let pool: any Layer =
                    int(0...1) == 0
                    ? MaxPooling2D(poolSize: [size, size], padding: pick([.valid, .same]))
                    : AveragePooling2D(poolSize: [size, size], strides: [size, size], padding: .same)
                _ = try image(pool, [t.name])
            case 8:
                let f = int(1...4)
                let gate = try image(Conv2D(filters: f, kernelSize: [1, 1], activation: .sigmoid), [t.name])
                let value = try sameConv(t.name, filters: f)
                _ = try image(Multiply(), [gate.name, value.name])
            case 9:
                let p = try image(ZeroPadding2D(top: int(0...1), bottom: 1, left: 1, right: int(0...1)), [t.name])
                _ = try image(Dropout(rate: 0.3), [p.name])
            case 10:
                // Squeeze-excitation: Keras's GAP -> Reshape (EfficientNet) or GAP keepdims (MobileNetV3).
                let c = t.shape[2]
                var squeeze = try add(GlobalAveragePooling2D(keepdims: int(0...1) == 0), [t.name])
                if squeeze.shape.count == 1 {
                    squeeze = try add(Reshape(targetShape: pick([[1, 1, c], [1, 1, -1]])), [squeeze.name])
                }
                let reduced = try add(
                    Conv2D(filters: int(1...3), kernelSize: [1, 1], activation: pick([.swish, .relu])), [squeeze.name])
                let gate = try add(
                    Conv2D(filters: c, kernelSize: [1, 1], activation: pick([.sigmoid, .hardSigmoid])), [reduced.name])
                _ = try image(Multiply(), int(0...1) == 0 ? [t.name, gate.name] : [gate.name, t.name])
            case 11:
                let f = int(1...4)
                let a = try sameConv(t.name, filters: f), bb = try sameConv(t.name, filters: f)
                _ = try image(pick([Average(), Maximum(), Subtract()] as [any Layer]), [a.name, bb.name])
            case 12:
                let y = try conv(t.name, filters: int(2...6), shape: t.shape)
                let c = y.shape[2]
                let perChannel = (0..<c).map { _ in Float(int(1...8)) / 4 }
                let layer: any Layer = pick([
                    PReLU(sharedAxes: pick([nil, [1, 2]])), LeakyReLU(negativeSlope: pick([0.1, 0.3])),
                    Rescaling(
                        scale: pick([.uniform(0.5), .perChannel(perChannel)]),
                        offset: pick([.uniform(-0.25), .perChannel(perChannel)])),
                    Activation(pick([.hardSilu, .gelu, .elu, .selu, .softplus, .softsign, .leakyReLU, .mish])),
                ])
                _ = try image(layer, [y.name])
            case 13:
                // Normalization, mostly of the graph input, with adapted weights or config statistics.
                let s = int(0...2) == 0 ? t : images[0]
                let c = s.shape[2]
                let norm =
                    int(0...1) == 0
                    ? Normalization()
                    : Normalization(
                        mean: .perChannel((0..<c).map { _ in Float(int(-4...4)) / 4 }),
                        variance: .perChannel((0..<c).map { _ in Float(int(1...8)) / 4 }))
                let n = try add(norm, [s.name])
                _ = try conv(n.name, filters: int(2...6), shape: n.shape)
            case 14:
                let (h, w, c) = (t.shape[0], t.shape[1], t.shape[2])
                if int(0...1) == 0 {
                    _ = try image(
                        Dropout(rate: 0.3, noiseShape: pick([[nil, 1, 1, 1], [nil, 1, 1, c], [nil, 1, 1, nil]])),
                        [t.name])
                } else {
                    _ = try image(Reshape(targetShape: pick([[w, h, c], [1, h * w, -1], [h * w, 1, c]])), [t.name])
                }
            case 15:
                let kernel = pick([1, 3])
                let fits = t.shape[0] >= kernel && t.shape[1] >= kernel
                let stride = min(t.shape[0], t.shape[1]) >= 4 && int(0...3) == 0 ? 2 : 1
                _ = try image(
                    SeparableConv2D(
                        filters: int(2...6), kernelSize: [kernel, kernel], strides: [stride, stride],
                        padding: fits && int(0...3) == 0 ? .valid : .same, depthMultiplier: int(1...2),
                        useBias: int(0...1) == 0, activation: pick([.linear, .relu, .relu6, .tanh, .swish])),
                    [t.name])
            case 16:
                // Upsample (stride 2 while small), then crop at most half of each side back off.
                let small = max(t.shape[0], t.shape[1]) <= 8
                let up = try image(
                    Conv2DTranspose(
                        filters: int(2...5), kernelSize: [pick([1, 2, 3]), pick([2, 3])],
                        strides: small ? [2, 2] : [1, 1], padding: pick([Padding.valid, .same]),
                        useBias: int(0...1) == 0, activation: pick([.linear, .relu, .tanh])), [t.name])
                let h = (up.shape[0] - 1) / 2, w = (up.shape[1] - 1) / 2
                _ = try image(
                    Cropping2D(
                        top: int(0...min(2, h)), bottom: int(0...min(2, h)), left: int(0...min(2, w)),
                        right: int(0...min(2, w))), [up.name])
            case 17:
                // Nearest upsampling, then a stride-2 'same' convolution back to t's size, added to t.
                let u = try image(UpSampling2D(size: [2, 2]), [t.name])
                let back = try image(
                    Conv2D(
                        filters: t.shape[2], kernelSize: [3, 3], strides: [2, 2], padding: .same,
                        useBias: int(0...1) == 0), [u.name])
                _ = try image(Add(), [t.name, back.name])
            case 18:
                if min(t.shape[0], t.shape[1]) >= 4 {
                    _ = try image(
                        Cropping2D(top: int(0...1), bottom: int(0...1), left: int(0...1), right: int(0...1)), [t.name])
                } else {
                    _ = try image(UpSampling2D(size: [int(1...2), int(1...2)]), [t.name])
                }
            default:
                _ = try image(Activation(pick([.sigmoid, .tanh, .hardSigmoid, .swish])), [t.name])
            }
            try registryArm()
        }
        var outputs: [String] = []
        for k in 0..<int(1...2) {
            let t = k == 0 ? images.last! : pick(images)
            var features: String
            if t.shape.reduce(1, *) <= 400, int(0...1) == 0 {
                features = b.add(Flatten(), inputs: [t.name])
            } else {
                features = b.add(
                    int(0...1) == 0 ? GlobalAveragePooling2D() as any Layer : GlobalMaxPooling2D(), inputs: [t.name])
            }
            if int(0...1) == 0 { features = b.add(Dense(units: int(2...5), activation: .relu), inputs: [features]) }
            outputs.append(
                b.add(Dense(units: int(2...4), activation: int(0...2) == 0 ? .softmax : .linear), inputs: [features]))
        }
        return try b.build(outputs: outputs + extraOutputs, seed: seed)
    }

    // MARK: - The registry arm

    /// One time in four (drawn from `registryRandom`), inserts a registered type's example.
    mutating func registryArm() throws {
        guard !catalogue.isEmpty else { return }
        swap(&random, &registryRandom)
        defer { swap(&random, &registryRandom) }
        guard int(0...3) == 0 else { return }
        let examples = pick(catalogue)
        try insertExample(pick(examples))
    }

    /// The example on a source image `t`: `t` itself feeds the first input when it has the
    /// channels the example needs, same-padded convolutions of `t` the others. Nothing is
    /// added when the example does not accept inputs of that shape or its output is large.
    mutating func insertExample(_ example: LayerExample) throws {
        let t = source()
        let channels = example.channels ?? t.shape[2]
        let shapes = Array(repeating: [t.shape[0], t.shape[1], channels], count: example.inputs)
        let layer = try example.make()
        guard let shape = try? layer.outputShape(for: shapes), shape.allSatisfy({ $0 > 0 }), shape.reduce(1, *) <= 4096
        else {
            return
        }
        var inputs = channels == t.shape[2] ? [t.name] : []
        while inputs.count < example.inputs { inputs.append(try sameConv(t.name, filters: channels).name) }
        let y = b.add(layer, inputs: inputs)
        if shape.count == 3 {
            images.append((y, shape))
        } else {
            let features = shape.count == 1 ? y : b.add(Flatten(), inputs: [y])
            extraOutputs.append(b.add(Dense(units: int(2...4)), inputs: [features]))
        }
    }
}
