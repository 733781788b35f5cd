import SurgeonCore

/// Keras `BatchNormalization` over the channel (last) axis.
///
/// Weights in Keras's order: `gamma` (when `scale`), `beta` (when `center`), `moving_mean`,
/// `moving_variance`, each `[channels]`. Training normalises with the batch's mean and biased
/// variance and moves the statistics as `moving = momentum * moving + (1 - momentum) * batch`
/// (Keras's convention: momentum 0.99 there; surgeon's builders use 0.9, see DESIGN.md).
/// Inference uses the moving statistics.
public struct BatchNormalization: Layer {
    public static let kerasClassName = "BatchNormalization"
    public let epsilon: Float
    public let momentum: Float
    public let center: Bool
    public let scale: Bool
    public var weights: [Tensor] = []

    public init(epsilon: Float = 1e-3, momentum: Float = 0.99, center: Bool = true, scale: Bool = true) {
        self.epsilon = epsilon
        self.momentum = momentum
        self.center = center
        self.scale = scale
    }

    public init(config: LayerConfig) throws {
        let axis: Int
        if case let .array(items)? = config["axis"] {
            guard items.count == 1, case let .number(a) = items[0] else {
                throw LayerError.unsupported(
                    "BatchNormalization over several axes \(ConfigValue.array(items)) is not supported; only the "
                        + "channel axis"
                )
            }
            axis = Int(a)
        } else {
            axis = try config.int("axis", default: -1)
        }
        guard axis == -1 || axis > 0 else {
            throw LayerError.unsupported(
                "BatchNormalization over axis \(axis) is not supported; only the channel axis (-1)")
        }
        let epsilon = try config.double("epsilon", default: 1e-3)
        let momentum = try config.double("momentum", default: 0.99)
        guard epsilon > 0 else {
            throw LayerError.config(
                .invalid(key: "epsilon", value: configNumber(epsilon), expected: "a positive number"))
        }
        guard momentum >= 0, momentum <= 1 else {
            throw LayerError.config(
                .invalid(key: "momentum", value: configNumber(momentum), expected: "a number in [0, 1]"))
        }
        self.init(
            epsilon: Float(epsilon), momentum: Float(momentum),
            center: try config.bool("center", default: true), scale: try config.bool("scale", default: true))
        self.axis = axis
    }

    /// The axis as written in the configuration: -1, or the positive index of the last axis.
    private var axis = -1

    public var config: LayerConfig {
        LayerConfig([
            "axis": .number(Double(axis)), "epsilon": .number(Double(epsilon)), "momentum": .number(Double(momentum)),
            "center": .bool(center), "scale": .bool(scale),
        ])
    }

    /// gamma, when the layer scales.
    public var channelScaleIndex: Int? { scale ? 0 : nil }

    public var weightNames: [String] {
        (scale ? ["gamma"] : []) + (center ? ["beta"] : []) + ["moving_mean", "moving_variance"]
    }

    public var trainableWeightCount: Int { (scale ? 1 : 0) + (center ? 1 : 0) }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try singleInput(inputShapes)
        guard axis == -1 || axis == input.count else {
            throw LayerError.inputShape("axis \(axis) is not the channel axis of an input of rank \(input.count + 1)")
        }
        return input
    }

    public func weightShapes(for inputShapes: [Shape]) throws -> [Shape] {
        let channels = try outputShape(for: inputShapes).last ?? 1
        return Array(repeating: [channels], count: weightNames.count)
    }

    public func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] {
        let c = try outputShape(for: inputShapes).last ?? 1
        return (scale ? [Tensor(shape: [c], repeating: 1)] : []) + (center ? [Tensor(shape: [c])] : [])
            + [Tensor(shape: [c]), Tensor(shape: [c], repeating: 1)]
    }

    public func macs(inputShapes: [Shape], outputShape: Shape) -> Int { outputShape.reduce(1, *) }

    /// gamma, beta, moving mean and moving variance, with defaults for the absent ones.
    public var parameters: (gamma: [Float], beta: [Float], mean: [Float], variance: [Float]) {
        let k = trainableWeightCount
        let c = weights[k].count
        return (
            scale ? weights[0].scalars : [Float](repeating: 1, count: c),
            center ? weights[scale ? 1 : 0].scalars : [Float](repeating: 0, count: c),
            weights[k].scalars, weights[k + 1].scalars
        )
    }

    /// The batch's per-channel mean and (biased) variance: what `forward` in training mode
    /// blends into the moving statistics.
    public func batchStatistics(_ inputs: [Tensor]) throws -> [Tensor]? {
        let (mean, variance) = Self.moments(try singleInput(inputs))
        return [
            try Tensor(shape: [mean.count], scalars: mean.map { Float($0) }),
            try Tensor(shape: [variance.count], scalars: variance.map { Float($0) }),
        ]
    }

    /// The batch's statistics, from which the backward pass recomputes the normalised input
    /// (instead of keeping a second activation-sized tensor per layer).
    struct Cache: Sendable {
        var mean: [Float]
        var inverseStd: [Float]
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let p = parameters
        let c = x.channelCount
        var factor = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c)
        guard context.training else {
            for j in 0..<c {
                factor[j] = p.gamma[j] / (p.variance[j] + epsilon).squareRoot()
                shift[j] = p.beta[j] - p.mean[j] * factor[j]
            }
            return LayerOutput(Self.affine(x, factor: factor, shift: shift))
        }
        let (mean, variance) = Self.moments(x)
        var inverseStd = [Float](repeating: 0, count: c)
        for j in 0..<c {
            inverseStd[j] = 1 / (Float(variance[j]) + epsilon).squareRoot()
            factor[j] = p.gamma[j] * inverseStd[j]
            shift[j] = p.beta[j] - Float(mean[j]) * factor[j]
        }
        let y = Self.affine(x, factor: factor, shift: shift)
        let k = trainableWeightCount
        var movingMean = weights[k], movingVariance = weights[k + 1]
        for j in 0..<c {
            movingMean.scalars[j] = momentum * movingMean.scalars[j] + (1 - momentum) * Float(mean[j])
            movingVariance.scalars[j] = momentum * movingVariance.scalars[j] + (1 - momentum) * Float(variance[j])
        }
        return LayerOutput(
            y, cache: Cache(mean: mean.map { Float($0) }, inverseStd: inverseStd),
            updatedState: [movingMean, movingVariance])
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        guard let cache = output.cache as? Cache else { throw LayerError.missingCache }
        let x = try singleInput(inputs)
        let dy = outputGradient
        let c = dy.channelCount, rows = dy.count / max(c, 1)
        guard x.shape == dy.shape, cache.mean.count == c else {
            throw LayerError.inputShape("BatchNormalization's gradient \(dy.shape) does not match its input \(x.shape)")
        }
        let (sumDy, sumDyCentred) = dy.scalars.withUnsafeBufferPointer { g in
            x.scalars.withUnsafeBufferPointer { h in
                ChannelKernels.gradientSums(g.baseAddress!, h.baseAddress!, mean: cache.mean, rows: rows, channels: c)
            }
        }
        let gamma = parameters.gamma
        let m = Double(max(rows, 1))
        // With xhat = (x - mean) * invstd:
        // dx = gamma * invstd / m * (m * dy - sum(dy) - xhat * sum(dy * xhat)), spent as
        // dx = a * dy + shift + z * (x - mean).
        var a = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c),
            z = [Float](repeating: 0, count: c), sumDyX = [Float](repeating: 0, count: c)
        for j in 0..<c {
            let s = gamma[j] * cache.inverseStd[j]
            sumDyX[j] = Float(sumDyCentred[j]) * cache.inverseStd[j]
            let d = -s * sumDyX[j] / Float(m)
            a[j] = s
            z[j] = d * cache.inverseStd[j]
            shift[j] = -s * Float(sumDy[j] / m)
        }
        let dx = Tensor(shape: dy.shape) { out in
            dy.scalars.withUnsafeBufferPointer { g in
                x.scalars.withUnsafeBufferPointer { h in
                    ChannelKernels.affine(
                        g.baseAddress!, scale: a, shift: shift, plus: h.baseAddress!, zScale: z,
                        zShift: cache.mean, into: out.baseAddress!, rows: rows, channels: c)
                }
            }
        }
        var grads: [Tensor] = []
        if scale { grads.append(try Tensor(shape: [c], scalars: sumDyX)) }
        if center { grads.append(try Tensor(shape: [c], scalars: sumDy.map { Float($0) })) }
        return LayerGradients(inputs: [dx], weights: grads)
    }

    /// Per-channel mean and biased variance over all but the last axis, in one pass over values
    /// shifted by the first row's (so that a large mean does not cancel the variance away).
    static func moments(_ x: Tensor) -> (mean: [Double], variance: [Double]) {
        let c = x.channelCount, rows = x.count / max(c, 1)
        guard rows > 0 else { return ([Double](repeating: 0, count: c), [Double](repeating: 0, count: c)) }
        let pilot = Array(x.scalars[0..<c])
        return x.scalars.withUnsafeBufferPointer { p in
            let shifted = ChannelKernels.sums(p.baseAddress!, nil, shift: pilot, rows: rows, channels: c)
            var mean = [Double](repeating: 0, count: c), variance = [Double](repeating: 0, count: c)
            for j in 0..<c {
                let d = shifted.sum[j] / Double(rows)
                mean[j] = Double(pilot[j]) + d
                variance[j] = max(shifted.productSum[j] / Double(rows) - d * d, 0)
            }
            return (mean, variance)
        }
    }

    /// `x * factor[c] + shift[c]` per channel.
    static func affine(_ x: Tensor, factor: [Float], shift: [Float]) -> Tensor {
        let c = x.channelCount
        return Tensor(shape: x.shape) { out in
            x.scalars.withUnsafeBufferPointer { p in
                ChannelKernels.affine(
                    p.baseAddress!, scale: factor, shift: shift, into: out.baseAddress!,
                    rows: x.count / max(c, 1), channels: c)
            }
        }
    }
}

// MARK: - Surgery

extension BatchNormalization: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    /// Keeps the surviving channels' gamma, beta, moving mean and moving variance.
    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        var layer = self
        layer.weights = weights.map { $0.selecting(keptOutputs, alongAxis: 0) }
        return layer
    }

    public var weightChannelAxes: [WeightChannelAxes] { weights.map { _ in WeightChannelAxes(output: 0) } }
}

// MARK: - Examples

extension BatchNormalization {
    public static var examples: [LayerExample] {
        [
            LayerExample("BatchNormalization") { BatchNormalization(epsilon: 1e-3, momentum: 0.9) },
            LayerExample("BatchNormalization scale false") { BatchNormalization(scale: false) },
            LayerExample("BatchNormalization center false") { BatchNormalization(center: false) },
            LayerExample("BatchNormalization neither") { BatchNormalization(center: false, scale: false) },
            LayerExample("BatchNormalization from its Keras config (epsilon 1e-5)") {
                try BatchNormalization(config: LayerConfig(["momentum": 0.9, "epsilon": 1e-5]))
            },
        ]
    }
}
