import SurgeonCore

/// Keras `Dropout` (inverted dropout): in training each element is kept with probability
/// `1 - rate` and scaled by `1 / (1 - rate)`, else zeroed; in inference it is the identity.
///
/// The mask is a pure function of `ForwardContext.seed` (the graph derives one per node and
/// step), drawn with `SeededRandom(seed:)` in element order, so the backward pass recomputes
/// exactly the mask of the forward pass instead of storing it. Keras's per-layer `seed`
/// attribute is kept for round trips but does not enter the mask. `noise_shape` must be null.
public struct Dropout: Layer {
    public static let kerasClassName = "Dropout"
    /// The probability of dropping an element, in `[0, 1)`.
    public let rate: Double
    /// Keras's `seed` attribute, preserved as given.
    public let seed: Int?
    public var weights: [Tensor] = []

    public init(rate: Double, seed: Int? = nil) {
        precondition(rate >= 0 && rate < 1, "Dropout rate \(rate) is outside [0, 1)")
        self.rate = rate
        self.seed = seed
    }

    public init(config: LayerConfig) throws {
        let rate = try config.double("rate")
        guard rate >= 0, rate < 1 else {
            throw LayerError.config(.invalid(key: "rate", value: ConfigValue.number(rate).description, expected: "a number in [0, 1)"))
        }
        if let shape = config["noise_shape"], shape != .null {
            throw LayerError.unsupported("Dropout with noise_shape \(shape) is not supported; only null (an independent mask per element)")
        }
        let seed: Int? = config["seed"] == nil || config["seed"] == .null ? nil : try config.int("seed")
        self.init(rate: rate, seed: seed)
    }

    public var config: LayerConfig {
        LayerConfig(["rate": .number(rate), "noise_shape": .null, "seed": seed.map { .number(Double($0)) } ?? .null])
    }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape { try singleInput(inputShapes) }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        guard context.training, rate > 0 else { return LayerOutput(x) }
        var y = x
        applyMask(to: &y, seed: context.seed)
        return LayerOutput(y, cache: context.seed)
    }

    public func backward(_ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext) throws -> LayerGradients {
        let x = try singleInput(inputs)
        guard outputGradient.count == x.count else {
            throw LayerError.inputShape("Dropout backward: output gradient of shape \(outputGradient.shape) for an input of shape \(x.shape)")
        }
        guard rate > 0, context.training || output.cache != nil else { return LayerGradients(inputs: [outputGradient]) }
        // The seed the forward pass used (kept in the cache), else this step's seed.
        let seed = output.cache as? UInt64 ?? context.seed
        var dx = outputGradient
        applyMask(to: &dx, seed: seed)
        return LayerGradients(inputs: [dx])
    }

    /// Multiplies every element by `1 / (1 - rate)` (kept) or 0 (dropped); the same seed gives
    /// the same mask for tensors of the same element count.
    func applyMask(to t: inout Tensor, seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let threshold = Float(rate)
        let scale = Float(1 / (1 - rate))
        t.scalars.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count {
                p[i] = random.nextUnitFloat() >= threshold ? p[i] * scale : 0
            }
        }
    }
}

// MARK: - Surgery

extension Dropout: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}
