import SurgeonCore

// MARK: - Projection

/// A dense projection of the last axis: `y[..., o] = sum_i x[..., i] * kernel[i, o] + bias[o]`,
/// kernel `[in, units]`, bias `[units]`. On a flat sample `[in]` it is a dense layer, on an image
/// `[H, W, in]` a 1x1 convolution; either way a consumer of its input's channels and the
/// producer of `units` fresh ones.
///
/// `approximateFold` is a test knob: the layer then declares its constant-input fold
/// approximate (as a zero-padded convolution's is), so that the core's `.exact` and `.all`
/// bias-compensation modes can be told apart without a convolution. The fold itself is exact.
struct Projection: Layer, SurgeryRule {
    static let kerasClassName = "TestProjection"
    static var examples: [LayerExample] {
        [
            LayerExample("TestProjection on images") { Projection(units: 3) },
            LayerExample("TestProjection on flat features", flatInput: true) { Projection(units: 3) },
            LayerExample("TestProjection without bias") { Projection(units: 2, useBias: false) },
        ]
    }

    let units: Int
    let useBias: Bool
    let approximateFold: Bool
    var weights: [Tensor] = []

    init(units: Int, useBias: Bool = true, approximateFold: Bool = false) {
        self.units = units
        self.useBias = useBias
        self.approximateFold = approximateFold
    }

    init(config: LayerConfig) throws {
        units = try config.positiveInt("units")
        useBias = try config.bool("use_bias", default: true)
        approximateFold = try config.bool("approximate_fold", default: false)
    }

    var config: LayerConfig {
        LayerConfig([
            "units": .number(Double(units)), "use_bias": .bool(useBias), "approximate_fold": .bool(approximateFold),
        ])
    }

    var weightNames: [String] { useBias ? ["kernel", "bias"] : ["kernel"] }

    func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try onlyInput(inputShapes)
        _ = try channelCount(of: input, in: Self.kerasClassName)
        return input.dropLast() + [units]
    }

    func weightShapes(for inputShapes: [Shape]) throws -> [Shape] {
        let features = try channelCount(of: try onlyInput(inputShapes), in: Self.kerasClassName)
        return useBias ? [[features, units], [units]] : [[features, units]]
    }

    func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] {
        let shapes = try weightShapes(for: inputShapes)
        let kernel = Tensor.glorotUniform(shape: shapes[0], fanIn: shapes[0][0], fanOut: units, random: &random)
        return useBias ? [kernel, Tensor(shape: [units])] : [kernel]
    }

    func macs(inputShapes: [Shape], outputShape: Shape) -> Int {
        Tensor.elementCount(of: inputShapes.first ?? []) * units
    }

    /// The input, checked against the kernel: `(rows, features)` of its `[rows, features]` view.
    private func rows(of x: Tensor) throws -> (rows: Int, features: Int) {
        let features = weights[0].shape[0]
        guard x.rank >= 2, x.channelCount == features else {
            throw LayerError.inputShape("TestProjection with a kernel for \(features) features got input \(x.shape)")
        }
        return (x.count / features, features)
    }

    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try onlyInput(inputs)
        let (rows, features) = try rows(of: x)
        var y = try Tensor(
            shape: x.shape.dropLast() + [units],
            scalars: multiply(x.scalars, weights[0].scalars, m: rows, k: features, n: units))
        if useBias { y.addChannelBias(weights[1]) }
        return LayerOutput(y)
    }

    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try onlyInput(inputs)
        let (rows, features) = try rows(of: x)
        try checkGradient(outputGradient, is: x.shape.dropLast() + [units], in: Self.kerasClassName)
        let dy = outputGradient.scalars
        let dx = try Tensor(
            shape: x.shape, scalars: multiply(dy, weights[0].scalars, m: rows, k: units, n: features, transposeB: true))
        let dw = try Tensor(
            shape: weights[0].shape, scalars: multiply(x.scalars, dy, m: features, k: rows, n: units, transposeA: true))
        return LayerGradients(inputs: [dx], weights: useBias ? [dw, outputGradient.channelSums()] : [dw])
    }

    // MARK: Surgery

    func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .fresh }

    func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        var layer = Projection(units: keptOutputs.count, useBias: useBias, approximateFold: approximateFold)
        layer.weights =
            [weights[0].selecting(rows: try onlyInput(keptInputs), columns: keptOutputs)]
            + (useBias ? [weights[1].selecting(keptOutputs, alongAxis: 0)] : [])
        return layer
    }

    var weightChannelAxes: [WeightChannelAxes] {
        [WeightChannelAxes(output: 1, input: 0)] + (useBias ? [WeightChannelAxes(output: 0)] : [])
    }

    /// A constant input channel `c` adds `value * kernel[c, o]` to output `o`.
    func foldingConstantInputs(
        _ constants: [Int: Float], inputShapes: [Shape]
    ) throws -> (layer: any Layer, exact: Bool)? {
        var bias = useBias ? weights[1] : Tensor(shape: [units])
        for (c, value) in constants {
            for o in 0..<units { bias.scalars[o] += value * weights[0].scalars[c * units + o] }
        }
        var layer = Projection(units: units, useBias: true, approximateFold: approximateFold)
        layer.weights = [weights[0], bias]
        return (layer, !approximateFold)
    }
}

// MARK: - ChannelAffine

/// A per-channel affine map `y = gamma * x + beta` (the part of a BatchNorm that surgery and
/// Network Slimming care about), which also tracks its input's per-channel mean as
/// non-trainable state: `moving_mean <- momentum * moving_mean + (1 - momentum) * batch mean`
/// in training. Weights `gamma`, `beta` (trainable) and `moving_mean`, each `[C]`; `gamma` is the
/// declared channel scale.
struct ChannelAffine: Layer, SurgeryRule {
    static let kerasClassName = "TestAffine"
    static var examples: [LayerExample] {
        [
            LayerExample("TestAffine on images") { ChannelAffine() },
            LayerExample("TestAffine on flat features", flatInput: true) { ChannelAffine(momentum: 0.5) },
        ]
    }

    let momentum: Float
    var weights: [Tensor] = []

    init(momentum: Float = 0.9) { self.momentum = momentum }

    init(config: LayerConfig) throws {
        momentum = Float(try config.double("momentum", default: 0.9))
    }

    var config: LayerConfig { LayerConfig(["momentum": .number(Double(momentum))]) }
    var weightNames: [String] { ["gamma", "beta", "moving_mean"] }
    var trainableWeightCount: Int { 2 }
    var channelScaleIndex: Int? { 0 }

    func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try onlyInput(inputShapes)
        _ = try channelCount(of: input, in: Self.kerasClassName)
        return input
    }

    func weightShapes(for inputShapes: [Shape]) throws -> [Shape] {
        let c = try channelCount(of: try onlyInput(inputShapes), in: Self.kerasClassName)
        return [[c], [c], [c]]
    }

    func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] {
        let c = try channelCount(of: try onlyInput(inputShapes), in: Self.kerasClassName)
        return [Tensor(shape: [c], repeating: 1), Tensor(shape: [c]), Tensor(shape: [c])]
    }

    func macs(inputShapes: [Shape], outputShape: Shape) -> Int { Tensor.elementCount(of: outputShape) }

    private func checked(_ x: Tensor) throws -> Tensor {
        guard x.rank >= 2, x.channelCount == weights[0].count else {
            throw LayerError.inputShape("TestAffine with \(weights[0].count) channels got input \(x.shape)")
        }
        return x
    }

    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try checked(try onlyInput(inputs))
        var y = x
        y.scaleChannels(by: weights[0].scalars)
        y.addChannelBias(weights[1])
        guard context.training else { return LayerOutput(y) }
        let positions = Float(x.count / x.channelCount)
        var state = weights[2]
        let sums = x.channelSums()
        for c in 0..<state.count {
            state.scalars[c] = momentum * state.scalars[c] + (1 - momentum) * sums.scalars[c] / positions
        }
        return LayerOutput(y, updatedState: [state])
    }

    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try checked(try onlyInput(inputs))
        try checkGradient(outputGradient, is: x.shape, in: Self.kerasClassName)
        var dx = outputGradient
        dx.scaleChannels(by: weights[0].scalars)
        var product = outputGradient
        for i in 0..<product.count { product.scalars[i] *= x.scalars[i] }
        return LayerGradients(inputs: [dx], weights: [product.channelSums(), outputGradient.channelSums()])
    }

    // MARK: Surgery

    func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        var layer = self
        layer.weights = weights.map { $0.selecting(keptOutputs, alongAxis: 0) }
        return layer
    }

    var weightChannelAxes: [WeightChannelAxes] { weights.map { _ in WeightChannelAxes(output: 0) } }
}

// MARK: - FanOut

/// Each input channel fans out to `multiplier` output channels: `y[..., c * m + k] = x[..., c] *
/// kernel[c, k]`, kernel `[C, m]` (a depthwise 1x1 convolution). Its channel map is
/// `.expanded(multiplier:)`, so output channels live and die with their input channel.
struct FanOut: Layer, SurgeryRule {
    static let kerasClassName = "TestFanOut"
    static var examples: [LayerExample] {
        [
            LayerExample("TestFanOut by 1") { FanOut(multiplier: 1) },
            LayerExample("TestFanOut by 3") { FanOut(multiplier: 3) },
        ]
    }

    let multiplier: Int
    var weights: [Tensor] = []

    init(multiplier: Int) { self.multiplier = multiplier }

    init(config: LayerConfig) throws { multiplier = try config.positiveInt("multiplier") }

    var config: LayerConfig { LayerConfig(["multiplier": .number(Double(multiplier))]) }
    var weightNames: [String] { ["kernel"] }

    func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try onlyInput(inputShapes)
        return input.dropLast() + [try channelCount(of: input, in: Self.kerasClassName) * multiplier]
    }

    func weightShapes(for inputShapes: [Shape]) throws -> [Shape] {
        [[try channelCount(of: try onlyInput(inputShapes), in: Self.kerasClassName), multiplier]]
    }

    func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] {
        let shape = try weightShapes(for: inputShapes)[0]
        return [Tensor.glorotUniform(shape: shape, fanIn: 1, fanOut: multiplier, random: &random)]
    }

    func macs(inputShapes: [Shape], outputShape: Shape) -> Int { Tensor.elementCount(of: outputShape) }

    private func checked(_ x: Tensor) throws -> Int {
        let c = weights[0].shape[0]
        guard x.rank >= 2, x.channelCount == c else {
            throw LayerError.inputShape("TestFanOut with a kernel for \(c) channels got input \(x.shape)")
        }
        return c
    }

    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try onlyInput(inputs)
        let c = try checked(x), m = multiplier, k = weights[0].scalars
        var y = Tensor(shape: x.shape.dropLast() + [c * m])
        for p in 0..<(x.count / c) {
            for ch in 0..<c {
                for j in 0..<m { y.scalars[(p * c + ch) * m + j] = x.scalars[p * c + ch] * k[ch * m + j] }
            }
        }
        return LayerOutput(y)
    }

    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try onlyInput(inputs)
        let c = try checked(x), m = multiplier, k = weights[0].scalars
        try checkGradient(outputGradient, is: x.shape.dropLast() + [c * m], in: Self.kerasClassName)
        var dx = Tensor(shape: x.shape), dk = [Double](repeating: 0, count: c * m)
        for p in 0..<(x.count / c) {
            for ch in 0..<c {
                var s = 0.0
                for j in 0..<m {
                    let g = Double(outputGradient.scalars[(p * c + ch) * m + j])
                    s += g * Double(k[ch * m + j])
                    dk[ch * m + j] += g * Double(x.scalars[p * c + ch])
                }
                dx.scalars[p * c + ch] = Float(s)
            }
        }
        return LayerGradients(inputs: [dx], weights: [try Tensor(shape: [c, m], scalars: dk.map { Float($0) })])
    }

    // MARK: Surgery

    func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .expanded(multiplier: multiplier) }

    func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        let kept = try onlyInput(keptInputs)
        let blocks = kept.flatMap { c in (0..<multiplier).map { c * multiplier + $0 } }
        guard blocks == keptOutputs else {
            throw LayerError.unsupported(
                "TestFanOut keeps output channels in whole blocks of \(multiplier): inputs \(kept) give \(blocks), not "
                    + "\(keptOutputs)"
            )
        }
        var layer = self
        layer.weights = [weights[0].selecting(kept, alongAxis: 0)]
        return layer
    }

    var weightChannelAxes: [WeightChannelAxes] { [WeightChannelAxes(input: 0)] }
}
