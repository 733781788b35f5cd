import SurgeonCore

/// Keras `PReLU`: `y = x` for `x >= 0`, else `alpha * x`, with a learned `alpha`.
///
/// `alpha` has the input's per-sample shape with extent 1 on each of `shared_axes` (axes
/// counted with the batch axis as 0, as in Keras): `[H, W, C]` without sharing, `[1, 1, C]` for
/// `shared_axes: [1, 2]`. `alpha_initializer`, `alpha_regularizer` and `alpha_constraint` are
/// kept as given for the Keras file; fresh weights support the zeros (default), ones and
/// constant initialisers, and surgeon's training applies no regulariser or constraint from
/// them. MACs: none (a compare and a multiply per element, like an activation).
public struct PReLU: Layer {
    public static let kerasClassName = "PReLU"
    /// The shared axes as configured (batch axis 0), or nil for none.
    public let sharedAxes: [Int]?
    public var weights: [Tensor] = []
    /// `alpha_initializer`, `alpha_regularizer`, `alpha_constraint`, as read.
    private let keras: [String: ConfigValue]

    static let kerasKeys = ["alpha_initializer", "alpha_regularizer", "alpha_constraint"]

    public init(sharedAxes: [Int]? = nil) {
        self.sharedAxes = sharedAxes
        keras = ["alpha_initializer": "zeros", "alpha_regularizer": .null, "alpha_constraint": .null]
    }

    public init(config: LayerConfig) throws {
        switch config["shared_axes"] {
        case nil, .null?: sharedAxes = nil
        case .number?: sharedAxes = [try config.int("shared_axes")]
        default:
            let axes = try config.intList("shared_axes")
            guard axes.allSatisfy({ $0 != nil }) else {
                throw LayerError.config(
                    .invalid(
                        key: "shared_axes", value: config["shared_axes"]?.description ?? "null",
                        expected: "null, an axis or a list of axes"))
            }
            sharedAxes = axes.compactMap { $0 }
        }
        var keras: [String: ConfigValue] = [
            "alpha_initializer": "zeros", "alpha_regularizer": .null, "alpha_constraint": .null,
        ]
        for key in Self.kerasKeys { if let value = config[key] { keras[key] = value } }
        self.keras = keras
    }

    public var config: LayerConfig {
        var c = LayerConfig(keras)
        c["shared_axes"] = sharedAxes.map { .array($0.map { .number(Double($0)) }) } ?? .null
        return c
    }

    public var weightNames: [String] { ["alpha"] }

    public var trainableWeightCount: Int { 1 }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try singleInput(inputShapes)
        for axis in sharedAxes ?? [] where axis < 1 || axis > input.count {
            throw LayerError.inputShape(
                "PReLU shared_axes \(sharedAxes ?? []) must name axes 1...\(input.count) of an input of shape \(input) "
                    + "(axis 0 is the batch)")
        }
        return input
    }

    public func weightShapes(for inputShapes: [Shape]) throws -> [Shape] {
        [alphaShape(try outputShape(for: inputShapes))]
    }

    public func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] {
        [Tensor(shape: try weightShapes(for: inputShapes)[0], repeating: try initialAlpha())]
    }

    /// The value Keras's initialiser gives every entry: zeros, ones or a constant.
    private func initialAlpha() throws -> Float {
        let value = keras["alpha_initializer"] ?? "zeros"
        var name: String?, settings: [String: ConfigValue] = [:]
        switch value {
        case let .string(s): name = s
        case let .object(o):
            if case let .string(s)? = o["class_name"] { name = s }
            if case let .object(c)? = o["config"] { settings = c }
        default: break
        }
        switch name?.lowercased() {
        case "zeros"?: return 0
        case "ones"?: return 1
        case "constant"?:
            if case let .number(v) = settings["value"] ?? .number(0) { return Float(v) }
        default: break
        }
        throw LayerError.unsupported(
            "PReLU alpha_initializer \(value) is not supported for fresh weights; only zeros, ones or constant")
    }

    /// The input's per-sample shape with 1 on the shared axes.
    func alphaShape(_ input: Shape) -> Shape {
        var shape = input
        for axis in sharedAxes ?? [] where axis >= 1 && axis <= input.count { shape[axis - 1] = 1 }
        return shape
    }

    /// For each element of one sample, the index of its alpha.
    private func alphaIndices(_ sample: Shape) -> [Int] { broadcastOffsets(sample, from: alphaShape(sample)) }

    /// The per-sample shape of `x` after checking it against alpha.
    private func sample(of x: Tensor) throws -> Shape {
        guard x.rank >= 2 else {
            throw LayerError.inputShape("PReLU expects a batch [batch, ..., channels], got \(x.shape)")
        }
        let sample = Array(x.shape.dropFirst())
        let expected = alphaShape(try outputShape(for: [sample]))
        guard weights.count == 1, weights[0].shape == expected else {
            throw LayerError.inputShape(
                "PReLU with alpha of shape \(weights.first?.shape ?? []) got input \(x.shape); expected alpha "
                    + "\(expected)"
            )
        }
        return sample
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let sample = try sample(of: x)
        let index = alphaIndices(sample), alpha = weights[0].scalars, n = index.count
        var y = x
        for i in 0..<y.count where y.scalars[i] < 0 { y.scalars[i] *= alpha[index[i % n]] }
        return LayerOutput(y)
    }

    /// dx = dy (x >= 0) or alpha * dy; dalpha = the sum of dy * x over the negative elements
    /// that share the alpha (over the batch and the shared axes).
    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        let sample = try sample(of: x)
        try checkGradientShape(outputGradient, x.shape, layer: Self.kerasClassName)
        let index = alphaIndices(sample), alpha = weights[0].scalars, n = index.count
        var dx = outputGradient
        var dAlpha = [Double](repeating: 0, count: alpha.count)
        for i in 0..<dx.count where x.scalars[i] < 0 {
            let a = index[i % n]
            dAlpha[a] += Double(outputGradient.scalars[i]) * Double(x.scalars[i])
            dx.scalars[i] *= alpha[a]
        }
        return LayerGradients(
            inputs: [dx], weights: [try Tensor(shape: weights[0].shape, scalars: dAlpha.map { Float($0) })])
    }
}

// MARK: - Surgery

extension PReLU: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }

    /// Keeps the surviving channels' alphas (a channel axis shared by all keeps its one alpha).
    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        var layer = self
        layer.weights = weights.map { alpha in
            (alpha.shape.last ?? 1) == 1 ? alpha : alpha.selecting(keptOutputs, alongAxis: alpha.rank - 1)
        }
        return layer
    }

    public var weightChannelAxes: [WeightChannelAxes] {
        weights.map { alpha in
            (alpha.shape.last ?? 1) == 1 ? WeightChannelAxes() : WeightChannelAxes(output: alpha.rank - 1)
        }
    }
}

// MARK: - Examples

extension PReLU {
    public static var examples: [LayerExample] {
        [
            LayerExample("PReLU") { PReLU() },
            LayerExample("PReLU shared over height and width") { PReLU(sharedAxes: [1, 2]) },
            LayerExample("PReLU shared over channels") { PReLU(sharedAxes: [3]) },
            LayerExample("PReLU from its Keras config (shared over height and width)") {
                try PReLU(config: LayerConfig(["shared_axes": [1, 2]]))
            },
        ]
    }
}
