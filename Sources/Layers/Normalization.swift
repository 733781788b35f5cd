import SurgeonCore

/// Keras `Normalization` over the last (channel) axis: `y = (x - mean) / max(sqrt(variance), 1e-7)`.
///
/// The statistics live in one of two places, as in Keras:
/// - `mean` and `variance` given in the config (a number or one per channel): no weights;
/// - both null (an adapted layer): three non-trainable weights `mean [C]`, `variance [C]` and
///   `count []` (Keras's int64 sample count, kept as a float scalar and never used here).
///   Training never changes them.
///
/// Only `invert: false` and the last axis (`axis` -1, `[-1]`, or the last index counting the
/// batch axis, e.g. 3 or `[3]` for NHWC) are supported. MACs: one multiply-add per element.
public struct Normalization: Layer {
    public static let kerasClassName = "Normalization"
    /// The statistics from the config; nil when they are weights.
    public let statistics: (mean: ChannelValues, variance: ChannelValues)?
    public var weights: [Tensor] = []
    /// `axis` as written in the config.
    private let axis: ConfigValue

    /// Keras's `backend.epsilon()`, the smallest standard deviation divided by.
    static let minimumStd: Float = 1e-7

    public init(mean: ChannelValues, variance: ChannelValues) {
        self.init(mean: mean, variance: variance, axis: [-1])
    }

    fileprivate init(mean: ChannelValues, variance: ChannelValues, axis: ConfigValue) {
        statistics = (mean, variance)
        self.axis = axis
    }

    /// A layer whose statistics are weights (as after `adapt`).
    public init() {
        statistics = nil
        axis = [-1]
    }

    public init(config: LayerConfig) throws {
        axis = config["axis"] ?? [-1]
        _ = try Self.axisIndex(axis)
        guard try !config.bool("invert", default: false) else {
            throw LayerError.unsupported("Normalization with invert = true is not supported; only invert = false")
        }
        let hasMean = config["mean"].map { $0 != .null } ?? false,
            hasVariance = config["variance"].map { $0 != .null } ?? false
        guard hasMean == hasVariance else {
            throw LayerError.config(
                .invalid(
                    key: hasMean ? "variance" : "mean", value: "null",
                    expected: "a value when '\(hasMean ? "mean" : "variance")' is given (both or neither)"))
        }
        statistics =
            hasMean
            ? (try ChannelValues(config: config, key: "mean"), try ChannelValues(config: config, key: "variance")) : nil
    }

    public var config: LayerConfig {
        LayerConfig([
            "axis": axis, "invert": false,
            "mean": statistics?.mean.configValue ?? .null, "variance": statistics?.variance.configValue ?? .null,
        ])
    }

    /// The axis read from a config: an integer or a one-element list; nil means the last.
    private static func axisIndex(_ value: ConfigValue) throws -> Int? {
        var single = value
        if case let .array(items) = value, items.count == 1 { single = items[0] }
        guard case let .number(d) = single, d == d.rounded(), d == -1 || d > 0 else {
            throw LayerError.unsupported(
                "Normalization over axis \(value) is not supported; only the last (channel) axis (-1)")
        }
        return d == -1 ? nil : Int(d)
    }

    public var weightNames: [String] { statistics == nil ? ["mean", "variance", "count"] : [] }

    public var trainableWeightCount: Int { 0 }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try singleInput(inputShapes)
        if let index = try Self.axisIndex(axis), index != input.count {
            throw LayerError.unsupported(
                "Normalization over axis \(axis) is not supported for an input of rank \(input.count + 1); "
                    + "only the last (channel) axis (-1 or \(input.count))")
        }
        let channels = input.last ?? 1
        if let statistics {
            for (name, values) in [("mean", statistics.mean), ("variance", statistics.variance)]
            where !values.fits(channels: channels) {
                throw LayerError.inputShape(
                    "Normalization \(name) \(values.description) does not fit an input of shape \(input): "
                        + "give one number, or one per channel (\(channels))")
            }
        }
        return input
    }

    public func weightShapes(for inputShapes: [Shape]) throws -> [Shape] {
        let channels = try outputShape(for: inputShapes).last ?? 1
        return statistics == nil ? [[channels], [channels], []] : []
    }

    /// Keras's initial statistics: mean 0, variance 1, count 0.
    public func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] {
        let channels = try outputShape(for: inputShapes).last ?? 1
        return statistics == nil
            ? [Tensor(shape: [channels]), Tensor(shape: [channels], repeating: 1), Tensor(shape: [])] : []
    }

    public func macs(inputShapes: [Shape], outputShape: Shape) -> Int { outputShape.reduce(1, *) }

    /// Per channel, `1 / max(sqrt(variance), 1e-7)` and `-mean` times it.
    private func factors(channels: Int) throws -> (scale: [Float], shift: [Float]) {
        let mean: [Float], variance: [Float]
        if let statistics {
            mean = statistics.mean.values(channels: channels)
            variance = statistics.variance.values(channels: channels)
        } else {
            guard weights.count == 3, weights[0].count == channels, weights[1].count == channels else {
                throw LayerError.weights(
                    "Normalization needs mean and variance weights of \(channels) values; has \(weights.map(\.shape))")
            }
            mean = weights[0].scalars
            variance = weights[1].scalars
        }
        let scale = variance.map { 1 / max($0.squareRoot(), Self.minimumStd) }
        return (scale, zip(mean, scale).map { -$0 * $1 })
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let c = try channels(of: x)
        let f = try factors(channels: c)
        return LayerOutput(BatchNormalization.affine(x, factor: f.scale, shift: f.shift))
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        let c = try channels(of: x)
        try checkGradientShape(outputGradient, x.shape, layer: Self.kerasClassName)
        var dx = outputGradient
        dx.scaleChannels(by: try factors(channels: c).scale)
        return LayerGradients(inputs: [dx])
    }

    private func channels(of x: Tensor) throws -> Int {
        guard x.rank >= 2 else {
            throw LayerError.inputShape("Normalization expects a batch [batch, ..., channels], got \(x.shape)")
        }
        _ = try outputShape(for: [Array(x.shape.dropFirst())])
        return x.channelCount
    }
}

// MARK: - Surgery

extension Normalization: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    /// Keeps the surviving channels' mean and variance, in the weights or in the config.
    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        var layer = self
        if let statistics {
            layer = Normalization(
                mean: statistics.mean.selecting(keptOutputs), variance: statistics.variance.selecting(keptOutputs),
                axis: axis)
        } else {
            layer.weights = [
                weights[0].selecting(keptOutputs, alongAxis: 0), weights[1].selecting(keptOutputs, alongAxis: 0),
                weights[2],
            ]
        }
        return layer
    }

    /// Mean and variance run over the channels; the count has none.
    public var weightChannelAxes: [WeightChannelAxes] {
        weights.indices.map { $0 < 2 ? WeightChannelAxes(output: 0) : WeightChannelAxes() }
    }
}

// MARK: - Examples

extension Normalization {
    public static var examples: [LayerExample] {
        [
            LayerExample("Normalization with weights") { Normalization() },
            LayerExample("Normalization with config lists", channels: 5) {
                Normalization(mean: .perChannel([0.5, -1, 0, 2, 1]), variance: .perChannel([1, 4, 0.25, 2, 0.5]))
            },
            LayerExample("Normalization from its Keras config (adapted: statistics as weights)") {
                try Normalization(
                    config: LayerConfig(["axis": [-1], "invert": false, "mean": .null, "variance": .null]))
            },
        ]
    }
}
