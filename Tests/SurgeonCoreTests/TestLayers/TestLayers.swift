import SurgeonCore

/// Layer types that exist only in this test target, so that the core is tested without the
/// `Layers` module: if the core knew a concrete layer type, these tests could not pass. Each
/// type is minimal but exact (its backward pass is checked by finite differences in
/// `TestLayerGradientTests`, its surgery rule by `TestLayerSurgeryTests`), and each Keras class
/// name starts with `Test` so that nothing here can be mistaken for a built-in type.
enum TestLayers {
    /// Every test-only type that has a surgery rule.
    static let ruleTypes: [any Layer.Type] = [
        Source.self, Projection.self, ChannelAffine.self, FanOut.self, Rectifier.self, Probabilities.self,
        Sum.self, Join.self, Flat.self, ChannelMean.self,
    ]

    /// A registry of the test-only types with surgery rules; `Opaque` is left out (see `withOpaque`).
    static let registry: LayerRegistry = {
        var registry = LayerRegistry()
        do { try registry.register(ruleTypes) } catch { preconditionFailure("the test layer types: \(error)") }
        return registry
    }()

    /// `registry` plus `Opaque`, a type that computes but has no surgery rule.
    static let registryWithOpaque: LayerRegistry = {
        var registry = TestLayers.registry
        do { try registry.register(Opaque.self) } catch { preconditionFailure("the test layer types: \(error)") }
        return registry
    }()

    /// A surgeon that knows only the test-only types.
    static let surgeon = Surgeon(registry: registry)
}

// MARK: - Helpers shared by the test layers

/// The one input of a single-input layer, or the error the built-in layers give.
func onlyInput<T>(_ inputs: [T]) throws -> T {
    guard inputs.count == 1 else { throw LayerError.inputCount(expected: "1", actual: inputs.count) }
    return inputs[0]
}

/// The channel count (last axis) of a per-sample shape, which must have one.
func channelCount(of shape: Shape, in layer: String) throws -> Int {
    guard let c = shape.last, c > 0 else {
        throw LayerError.inputShape("\(layer) needs an input with channels on its last axis, got \(shape)")
    }
    return c
}

/// Refuses a gradient whose shape is not the output's.
func checkGradient(_ gradient: Tensor, is shape: [Int], in layer: String) throws {
    guard gradient.shape == shape else {
        throw LayerError.inputShape("\(layer) backward: gradient of shape \(gradient.shape), expected \(shape)")
    }
}

/// Plain matrix products in Double, for the test layers (no BLAS, nothing shared with the core's
/// kernels): `a` is `[m, k]` (stored `[k, m]` with `transposeA`), `b` is `[k, n]` (stored
/// `[n, k]` with `transposeB`); the result is `[m, n]`.
func multiply(
    _ a: [Float], _ b: [Float], m: Int, k: Int, n: Int,
    transposeA: Bool = false, transposeB: Bool = false
) -> [Float] {
    var out = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                let x = transposeA ? a[p * m + i] : a[i * k + p]
                let y = transposeB ? b[j * k + p] : b[p * n + j]
                s += Double(x) * Double(y)
            }
            out[i * n + j] = Float(s)
        }
    }
    return out
}

// MARK: - A layer without a surgery rule

/// Doubles its input. A `Layer` only: it reads, computes and trains, but the surgeon must refuse
/// it, naming it and the types that do have rules.
struct Opaque: Layer {
    static let kerasClassName = "TestOpaque"
    static var examples: [LayerExample] { [LayerExample("TestOpaque") { Opaque() }] }
    var weights: [Tensor] = []

    init() {}
    init(config: LayerConfig) throws {}
    var config: LayerConfig { LayerConfig() }

    func outputShape(for inputShapes: [Shape]) throws -> Shape { try onlyInput(inputShapes) }

    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        var y = try onlyInput(inputs)
        y.scale(by: 2)
        return LayerOutput(y)
    }

    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        try checkGradient(outputGradient, is: try onlyInput(inputs).shape, in: Self.kerasClassName)
        var dx = outputGradient
        dx.scale(by: 2)
        return LayerGradients(inputs: [dx])
    }
}
