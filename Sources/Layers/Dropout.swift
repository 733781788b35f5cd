import SurgeonCore

/// Keras `Dropout` (inverted dropout): in training each element is kept with probability
/// `1 - rate` and scaled by `1 / (1 - rate)`, else zeroed; in inference it is the identity.
///
/// The mask is a pure function of `ForwardContext.seed` (the graph derives one per node and
/// step), drawn with `SeededRandom(seed:)` in element order, so the backward pass recomputes
/// exactly the mask of the forward pass instead of storing it. Keras's per-layer `seed`
/// attribute is kept for round trips but does not enter the mask.
///
/// `noise_shape` (batch axis included, `null` entries taking the input's extent) shares one
/// draw along every axis where it is 1: `[null, 1, 1, 1]` drops whole samples (EfficientNet's
/// drop-connect), `[null, 1, 1, C]` whole channels of a sample. Its draws come in the mask's
/// own element order, so a null `noise_shape` and a full one give the same mask.
public struct Dropout: Layer {
    public static let kerasClassName = "Dropout"
    /// The probability of dropping an element, in `[0, 1)`.
    public let rate: Double
    /// Keras's `seed` attribute, preserved as given.
    public let seed: Int?
    /// Keras's `noise_shape` (nil for null): per axis, batch first, nil for the input's extent.
    public let noiseShape: [Int?]?
    public var weights: [Tensor] = []

    public init(rate: Double, seed: Int? = nil, noiseShape: [Int?]? = nil) {
        precondition(rate >= 0 && rate < 1, "Dropout rate \(rate) is outside [0, 1)")
        self.rate = rate
        self.seed = seed
        self.noiseShape = noiseShape
    }

    public init(config: LayerConfig) throws {
        let rate = try config.double("rate")
        guard rate >= 0, rate < 1 else {
            throw LayerError.config(
                .invalid(key: "rate", value: ConfigValue.number(rate).description, expected: "a number in [0, 1)"))
        }
        var noiseShape: [Int?]?
        if let value = config["noise_shape"], value != .null {
            let entries: [Int?]
            do { entries = try config.intList("noise_shape") } catch { entries = [0] }
            guard case .array = value, entries.allSatisfy({ ($0 ?? 1) > 0 }) else {
                throw LayerError.config(
                    .invalid(
                        key: "noise_shape", value: value.description,
                        expected: "null or a list of positive integers and nulls"))
            }
            noiseShape = entries
        }
        let seed: Int? = config["seed"] == nil || config["seed"] == .null ? nil : try config.int("seed")
        self.init(rate: rate, seed: seed, noiseShape: noiseShape)
    }

    public var config: LayerConfig {
        LayerConfig([
            "rate": .number(rate), "noise_shape": noiseShapeValue, "seed": seed.map { .number(Double($0)) } ?? .null,
        ])
    }

    private var noiseShapeValue: ConfigValue {
        noiseShape.map { .array($0.map { $0.map { .number(Double($0)) } ?? .null }) } ?? .null
    }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try singleInput(inputShapes)
        if let noiseShape {
            // The batch extent is only known at run time (see `maskShape`).
            let fits =
                noiseShape.count == input.count + 1
                && zip(noiseShape.dropFirst(), input).allSatisfy { entry, extent in
                    entry == nil || entry == 1 || entry == extent
                }
            guard fits else { throw LayerError.inputShape(noiseShapeMessage(input)) }
        }
        return input
    }

    private func noiseShapeMessage(_ input: [Int]) -> String {
        let batchShape = ConfigValue.array([.null] + input.map { .number(Double($0)) })
        return "Dropout noise_shape \(noiseShapeValue) does not fit an input of shape \(batchShape); "
            + "give one entry per axis, batch first, each null, 1 or the input's extent"
    }

    /// The shape of the mask for a batch of `shape`: `noise_shape` with nulls filled in.
    private func maskShape(_ shape: [Int]) throws -> [Int] {
        guard let noiseShape else { return shape }
        let sample = try outputShape(for: [Array(shape.dropFirst())])
        let batch = shape.first ?? 0
        guard let first = noiseShape.first, first == nil || first == 1 || first == batch else {
            throw LayerError.inputShape(noiseShapeMessage(sample))
        }
        return zip(noiseShape, shape).map { $0 ?? $1 }
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        guard context.training, rate > 0 else { return LayerOutput(x) }
        var y = x
        try applyMask(to: &y, seed: context.seed)
        return LayerOutput(y, cache: context.seed)
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        guard outputGradient.count == x.count else {
            throw LayerError.inputShape(
                "Dropout backward: output gradient of shape \(outputGradient.shape) for an input of shape \(x.shape)")
        }
        guard rate > 0, context.training || output.cache != nil else { return LayerGradients(inputs: [outputGradient]) }
        // The seed the forward pass used (kept in the cache), else this step's seed.
        let seed = output.cache as? UInt64 ?? context.seed
        var dx = try outputGradient.reshaped(x.shape)
        try applyMask(to: &dx, seed: seed)
        return LayerGradients(inputs: [dx])
    }

    /// Multiplies every element by `1 / (1 - rate)` (kept) or 0 (dropped), one draw per mask
    /// element (`maskShape`); the same seed gives the same mask for tensors of the same shape.
    func applyMask(to t: inout Tensor, seed: UInt64) throws {
        let shape = try maskShape(t.shape)
        var random = SeededRandom(seed: seed)
        let threshold = Float(rate)
        let scale = Float(1 / (1 - rate))
        var mask = [Float](repeating: 0, count: Tensor.elementCount(of: shape))
        for i in 0..<mask.count { mask[i] = random.nextUnitFloat() >= threshold ? scale : 0 }
        if shape == t.shape {
            t.scalars.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count { p[i] = mask[i] == 0 ? 0 : p[i] * scale }
            }
        } else {
            let offsets = broadcastOffsets(t.shape, from: shape)
            t.scalars.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count { p[i] = mask[offsets[i]] == 0 ? 0 : p[i] * scale }
            }
        }
    }
}

// MARK: - Surgery

extension Dropout: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    /// A `noise_shape` that names the channel count (`[null, 1, 1, C]`) gets the surviving count.
    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        guard var noiseShape, let last = noiseShape.last, let extent = last, extent > 1 else { return self }
        noiseShape[noiseShape.count - 1] = keptOutputs.count
        return Dropout(rate: rate, seed: seed, noiseShape: noiseShape)
    }
}

// MARK: - Examples

extension Dropout {
    public static var examples: [LayerExample] {
        [
            LayerExample("Dropout") { Dropout(rate: 0.5) },
            LayerExample("Dropout per sample") { Dropout(rate: 0.2, noiseShape: [nil, 1, 1, 1]) },
            LayerExample("Dropout per channel", channels: 6) { Dropout(rate: 0.2, noiseShape: [nil, 1, 1, 6]) },
            LayerExample("Dropout from its Keras config (rate 0.5)") {
                try Dropout(config: LayerConfig(["rate": 0.5]))
            },
        ]
    }
}
