import SurgeonCore

#if canImport(Glibc)
    import Glibc
#endif

/// Keras `Activation`: applies a named function element-wise (softmax over the last axis).
public struct Activation: Layer {
    public static let kerasClassName = "Activation"
    public let function: ActivationFunction
    public var weights: [Tensor] = []

    public init(_ function: ActivationFunction) { self.function = function }

    public init(config: LayerConfig) throws {
        function = try ActivationFunction(kerasName: try config.string("activation"))
    }

    public var config: LayerConfig { LayerConfig(["activation": .string(function.rawValue)]) }

    public var producesProbabilities: Bool { function == .softmax }
    public var rectifiesOutput: Bool { function.isRectifier }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape { try singleInput(inputShapes) }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        return LayerOutput(function.apply(x))
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        LayerGradients(inputs: [function.backward(outputGradient, input: try singleInput(inputs), output: output.value)]
        )
    }
}

/// Keras `ReLU`: `max_value` caps the output, `negative_slope` is the slope below `threshold`.
///
/// f(x) = min(x, max_value) if x > threshold, else negative_slope * (x - threshold) (Keras 3's
/// definition; like Keras, a negative threshold, slope or cap is refused). With threshold 0 this
/// is the vector kernel's `clampedLinear`; a positive threshold takes a scalar path, because
/// there the two differ at `x == threshold` (and below a cap smaller than the threshold).
public struct ReLU: Layer {
    public static let kerasClassName = "ReLU"
    public let maxValue: Float?
    public let negativeSlope: Float
    public let threshold: Float
    public var weights: [Tensor] = []
    public var rectifiesOutput: Bool { threshold >= 0 && negativeSlope == 0 }

    public init(maxValue: Float? = nil, negativeSlope: Float = 0, threshold: Float = 0) {
        self.maxValue = maxValue
        self.negativeSlope = negativeSlope
        self.threshold = threshold
    }

    public init(config: LayerConfig) throws {
        let maxValue = try config.optionalDouble("max_value")
        let slope = try config.double("negative_slope", default: 0)
        let threshold = try config.double("threshold", default: 0)
        if let maxValue, maxValue < 0 {
            throw LayerError.config(
                .invalid(key: "max_value", value: configNumber(maxValue), expected: "a number >= 0 or null"))
        }
        guard slope >= 0 else {
            throw LayerError.config(
                .invalid(key: "negative_slope", value: configNumber(slope), expected: "a number >= 0"))
        }
        guard threshold >= 0 else {
            throw LayerError.config(
                .invalid(key: "threshold", value: configNumber(threshold), expected: "a number >= 0"))
        }
        self.init(maxValue: maxValue.map { Float($0) }, negativeSlope: Float(slope), threshold: Float(threshold))
    }

    public var config: LayerConfig {
        LayerConfig([
            "max_value": maxValue.map { .number(Double($0)) } ?? .null,
            "negative_slope": .number(Double(negativeSlope)),
            "threshold": .number(Double(threshold)),
        ])
    }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape { try singleInput(inputShapes) }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let cap = maxValue ?? .infinity, threshold = threshold, slope = negativeSlope
        guard threshold == 0 else {
            return LayerOutput(x.map { $0 > threshold ? min($0, cap) : slope * ($0 - threshold) })
        }
        return LayerOutput(
            Tensor(shape: x.shape) { p in
                x.scalars.withUnsafeBufferPointer { src in
                    ElementwiseKernels.clampedLinear(
                        src.baseAddress!, into: p.baseAddress!, count: p.count,
                        low: threshold, high: cap, slope: slope)
                }
            })
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        let cap = maxValue ?? .infinity, threshold = threshold, slope = negativeSlope
        try checkGradientShape(outputGradient, x.shape, layer: Self.kerasClassName)
        guard threshold == 0 else {
            var dx = outputGradient
            for i in 0..<dx.count {
                let v = x.scalars[i]
                dx.scalars[i] *= v > threshold ? (v < cap ? 1 : 0) : slope
            }
            return LayerGradients(inputs: [dx])
        }
        let dx = Tensor(shape: x.shape) { g in
            x.scalars.withUnsafeBufferPointer { xs in
                outputGradient.scalars.withUnsafeBufferPointer { dy in
                    ElementwiseKernels.clampedLinearGradient(
                        xs.baseAddress!, dy.baseAddress!, into: g.baseAddress!,
                        count: g.count, low: threshold, high: cap, slope: slope)
                }
            }
        }
        return LayerGradients(inputs: [dx])
    }
}

/// Keras `LeakyReLU`: `x` for `x >= 0`, `negative_slope * x` below (Keras's default slope
/// 0.3). Reads Keras 2's name for the slope, `alpha`, too; writes `negative_slope`.
public struct LeakyReLU: Layer {
    public static let kerasClassName = "LeakyReLU"
    /// The slope as configured (Double, so that the config writes back what it read).
    public let negativeSlope: Double
    public var weights: [Tensor] = []

    public init(negativeSlope: Double = 0.3) { self.negativeSlope = negativeSlope }

    public init(config: LayerConfig) throws {
        let hasSlope = config["negative_slope"] != nil && config["negative_slope"] != .null
        let key = !hasSlope && config["alpha"] != nil ? "alpha" : "negative_slope"
        let slope = try config.double(key, default: 0.3)
        guard slope >= 0 else {
            throw LayerError.config(.invalid(key: key, value: configNumber(slope), expected: "a number >= 0"))
        }
        self.init(negativeSlope: slope)
    }

    public var config: LayerConfig { LayerConfig(["negative_slope": .number(negativeSlope)]) }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape { try singleInput(inputShapes) }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let slope = Float(negativeSlope)
        return LayerOutput(
            Tensor(shape: x.shape) { p in
                x.scalars.withUnsafeBufferPointer { src in
                    ElementwiseKernels.clampedLinear(
                        src.baseAddress!, into: p.baseAddress!, count: p.count, low: 0, high: .infinity, slope: slope)
                }
            })
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        try checkGradientShape(outputGradient, x.shape, layer: Self.kerasClassName)
        let slope = Float(negativeSlope)
        return LayerGradients(inputs: [
            Tensor(shape: x.shape) { g in
                x.scalars.withUnsafeBufferPointer { xs in
                    outputGradient.scalars.withUnsafeBufferPointer { dy in
                        ElementwiseKernels.clampedLinearGradient(
                            xs.baseAddress!, dy.baseAddress!, into: g.baseAddress!, count: g.count,
                            low: 0, high: .infinity, slope: slope)
                    }
                }
            }
        ])
    }
}

/// Keras `Softmax` over the last (channel) axis.
public struct Softmax: Layer {
    public static let kerasClassName = "Softmax"
    public var weights: [Tensor] = []

    public init() {}

    public init(config: LayerConfig) throws {
        let axis = try config.int("axis", default: -1)
        guard axis == -1 else {
            throw LayerError.unsupported("Softmax over axis \(axis) is not supported; only the last axis (-1)")
        }
    }

    public var config: LayerConfig { LayerConfig(["axis": -1]) }

    public var producesProbabilities: Bool { true }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape { try singleInput(inputShapes) }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        LayerOutput(Softmax.softmax(try singleInput(inputs)))
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        LayerGradients(inputs: [
            Softmax.backward(outputGradient, output: output.value, axisSize: output.value.channelCount)
        ])
    }

    /// Softmax over the last axis, stabilised by subtracting each row's maximum.
    public static func softmax(_ x: Tensor) -> Tensor {
        var y = x
        let c = x.channelCount
        guard c > 0 else { return y }
        y.scalars.withUnsafeMutableBufferPointer { p in
            var base = 0
            while base < p.count {
                var m = -Float.infinity
                for j in 0..<c { m = max(m, p[base + j]) }
                var s: Float = 0
                for j in 0..<c { p[base + j] = exp(p[base + j] - m); s += p[base + j] }
                for j in 0..<c { p[base + j] /= s }
                base += c
            }
        }
        return y
    }

    /// dx_j = y_j * (dy_j - sum_i dy_i * y_i) per row.
    public static func backward(_ dy: Tensor, output y: Tensor, axisSize c: Int) -> Tensor {
        var dx = dy
        guard c > 0 else { return dx }
        dx.scalars.withUnsafeMutableBufferPointer { g in
            y.scalars.withUnsafeBufferPointer { ys in
                var base = 0
                while base < g.count {
                    var dot: Float = 0
                    for j in 0..<c { dot += g[base + j] * ys[base + j] }
                    for j in 0..<c { g[base + j] = ys[base + j] * (g[base + j] - dot) }
                    base += c
                }
            }
        }
        return dx
    }
}

// MARK: - Surgery

extension Activation: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    /// Element-wise functions keep channels apart; a softmax normalises across them, so
    /// deleting one would change the others: its channels are pinned.
    public var outputChannelsArePrunable: Bool { function != .softmax }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

extension ReLU: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

extension LeakyReLU: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

extension Softmax: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    /// Softmax normalises across channels: deleting one would change the others, so its
    /// channels are pinned.
    public var outputChannelsArePrunable: Bool { false }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

// MARK: - Examples

extension Activation {
    /// Every function but softmax, which pins the channels of its producer's whole group (see
    /// `Softmax` and `Dense`'s softmax head for that case).
    public static var examples: [LayerExample] {
        ActivationFunction.allCases.filter { $0 != .softmax }.map { function in
            LayerExample("Activation \(function.rawValue)") { Activation(function) }
        } + [
            LayerExample("Activation from its Keras config (swish)") {
                try Activation(config: LayerConfig(["activation": "swish"]))
            }
        ]
    }
}

extension ReLU {
    public static var examples: [LayerExample] {
        [
            LayerExample("ReLU") { ReLU() },
            LayerExample("ReLU capped leaky") { ReLU(maxValue: 0.5, negativeSlope: 0.2, threshold: 0.1) },
            LayerExample("ReLU from its Keras config (max_value 6)") {
                try ReLU(config: LayerConfig(["max_value": 6]))
            },
        ]
    }
}

extension LeakyReLU {
    public static var examples: [LayerExample] {
        [
            LayerExample("LeakyReLU") { LeakyReLU() },
            LayerExample("LeakyReLU from its Keras config (slope 0.2)") {
                try LeakyReLU(config: LayerConfig(["negative_slope": 0.2]))
            },
        ]
    }
}

extension Softmax {
    public static var examples: [LayerExample] {
        [
            LayerExample("Softmax (pins its channels)") { Softmax() },
            LayerExample("Softmax from its Keras config") { try Softmax(config: LayerConfig(["axis": -1])) },
        ]
    }
}
