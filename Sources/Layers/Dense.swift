import SurgeonCore

/// Keras `Dense`: `y = activation(x · kernel + bias)` with kernel `[in, units]`, bias
/// `[units]`, on inputs `[N, in]` (a rank-2 batch; flatten images first).
public struct Dense: Layer {
    public static let kerasClassName = "Dense"
    public let units: Int
    public let useBias: Bool
    public let activation: ActivationFunction
    public var weights: [Tensor] = []

    public init(units: Int, useBias: Bool = true, activation: ActivationFunction = .linear) {
        self.units = units
        self.useBias = useBias
        self.activation = activation
    }

    public init(config: LayerConfig) throws {
        units = try config.positiveInt("units")
        useBias = try config.bool("use_bias", default: true)
        activation = try config.activation()
    }

    public var config: LayerConfig {
        LayerConfig([
            "units": .number(Double(units)), "use_bias": .bool(useBias), "activation": .string(activation.rawValue),
        ])
    }

    public var weightNames: [String] { useBias ? ["kernel", "bias"] : ["kernel"] }

    public var producesProbabilities: Bool { activation == .softmax }
    public var rectifiesOutput: Bool { activation.isRectifier }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try singleInput(inputShapes)
        guard input.count == 1 else {
            throw LayerError.inputShape(
                "Dense expects a flat input [features], got \(input); add a Flatten or global pooling layer before it")
        }
        return [units]
    }

    public func weightShapes(for inputShapes: [Shape]) throws -> [Shape] {
        let features = try singleInput(inputShapes)[0]
        return useBias ? [[features, units], [units]] : [[features, units]]
    }

    public func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] {
        let shapes = try weightShapes(for: inputShapes)
        let kernel = Tensor.glorotUniform(shape: shapes[0], fanIn: shapes[0][0], fanOut: units, random: &random)
        return useBias ? [kernel, Tensor(shape: [units])] : [kernel]
    }

    public func macs(inputShapes: [Shape], outputShape: Shape) -> Int {
        (inputShapes.first?.first ?? 0) * units
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        guard x.rank == 2, x.shape[1] == weights[0].shape[0] else {
            throw LayerError.inputShape("Dense with a kernel for \(weights[0].shape[0]) features got input \(x.shape)")
        }
        let n = x.shape[0], features = weights[0].shape[0]
        var z = Tensor(shape: [n, units])
        x.scalars.withUnsafeBufferPointer { xp in
            weights[0].scalars.withUnsafeBufferPointer { wp in
                z.scalars.withUnsafeMutableBufferPointer { zp in
                    Gemm.multiply(xp.baseAddress!, wp.baseAddress!, into: zp.baseAddress!, m: n, n: units, k: features)
                }
            }
        }
        if useBias { z.addChannelBias(weights[1]) }
        return LayerOutput(activation.apply(z), cache: context.training && activation != .linear ? z : nil)
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        guard x.rank == 2, x.shape[1] == weights[0].shape[0] else {
            throw LayerError.inputShape("Dense with a kernel for \(weights[0].shape[0]) features got input \(x.shape)")
        }
        let dz = try fusedActivationGradient(activation, outputGradient, output)
        let n = x.shape[0], features = weights[0].shape[0]
        var dx = Tensor(shape: x.shape)
        var dw = Tensor(shape: weights[0].shape)
        x.scalars.withUnsafeBufferPointer { xp in
            weights[0].scalars.withUnsafeBufferPointer { wp in
                dz.scalars.withUnsafeBufferPointer { gp in
                    dw.scalars.withUnsafeMutableBufferPointer { dwp in
                        Gemm.multiply(
                            xp.baseAddress!, transposeA: true, gp.baseAddress!, into: dwp.baseAddress!,
                            m: features, n: units, k: n)
                    }
                    dx.scalars.withUnsafeMutableBufferPointer { dxp in
                        Gemm.multiply(
                            gp.baseAddress!, wp.baseAddress!, transposeB: true, into: dxp.baseAddress!,
                            m: n, n: features, k: units)
                    }
                }
            }
        }
        return LayerGradients(inputs: [dx], weights: useBias ? [dw, dz.channelSums()] : [dw])
    }
}

// MARK: - Surgery

extension Dense: SurgeryRule {
    /// Each unit is a new channel; a softmax over units couples them all, so it pins them.
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .fresh }

    public var outputChannelsArePrunable: Bool { activation != .softmax }

    /// Slices the kernel `[in, units]` on rows (input features) and columns, and the bias.
    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        var layer = Dense(units: keptOutputs.count, useBias: useBias, activation: activation)
        layer.weights =
            [weights[0].selecting(rows: try singleInput(keptInputs), columns: keptOutputs)]
            + (useBias ? [weights[1].selecting(keptOutputs, alongAxis: 0)] : [])
        return layer
    }

    public var weightChannelAxes: [WeightChannelAxes] {
        [WeightChannelAxes(output: 1, input: 0)] + (useBias ? [WeightChannelAxes(output: 0)] : [])
    }

    /// A constant input feature `c` adds `k_c * kernel[c, f]` to output `f`: always exact.
    public func foldingConstantInputs(
        _ constants: [Int: Float], inputShapes: [Shape]
    ) throws -> (layer: any Layer, exact: Bool)? {
        var layer = Dense(units: units, useBias: true, activation: activation)
        var bias = useBias ? weights[1] : Tensor(shape: [units])
        bias.add(foldedBias(kernel: weights[0], constants: constants))
        layer.weights = [weights[0], bias]
        return (layer, true)
    }
}

// MARK: - Examples

extension Dense {
    public static var examples: [LayerExample] {
        [
            LayerExample("Dense relu", flatInput: true) { Dense(units: 5, activation: .relu) },
            LayerExample("Dense from its Keras config (softmax head)", flatInput: true) {
                try Dense(config: LayerConfig(["units": 10, "activation": "softmax"]))
            },
        ]
    }
}
