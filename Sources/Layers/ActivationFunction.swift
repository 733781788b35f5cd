import SurgeonCore

#if canImport(Glibc)
    import Glibc
#endif

/// Keras's element-wise activation functions, used by the `Activation` layer and fused into
/// the convolution layers and Dense (`activation: "relu"`).
///
/// The definitions are Keras 3's: `hard_sigmoid(x) = relu6(x + 3) / 6`,
/// `hard_silu(x) = x * hard_sigmoid(x)`, `gelu` the exact (erf) form, `leaky_relu` with slope
/// 0.2, `elu` with alpha 1, `selu` with Klambauer et al.'s constants,
/// `mish(x) = x * tanh(softplus(x))`.
public enum ActivationFunction: String, Sendable, CaseIterable {
    case linear, relu, relu6, sigmoid, tanh, softmax, swish, hardSigmoid = "hard_sigmoid"
    case hardSilu = "hard_silu", gelu, elu, selu, softplus, softsign, exponential, leakyReLU = "leaky_relu", mish

    /// True for relu and relu6, whose inactive units are exact zeros (what APoZ counts).
    public var isRectifier: Bool { self == .relu || self == .relu6 }

    /// Reads a Keras activation name (`silu` is Keras's other name for swish, `hard_swish` for
    /// hard_silu).
    public init(kerasName: String) throws {
        switch kerasName {
        case "silu": self = .swish
        case "hard_swish": self = .hardSilu
        default:
            guard let value = ActivationFunction(rawValue: kerasName) else {
                throw LayerError.config(
                    .invalid(
                        key: "activation", value: "\"\(kerasName)\"",
                        expected: "one of \(ActivationFunction.acceptedNames)"))
            }
            self = value
        }
    }

    static var acceptedNames: String { (allCases.map(\.rawValue) + ["silu", "hard_swish"]).joined(separator: ", ") }

    /// SELU's constants (Klambauer et al., "Self-Normalizing Neural Networks", NeurIPS 2017).
    static let seluAlpha: Float = 1.6732632423543772, seluScale: Float = 1.0507009873554805
    /// Keras's slope of the `leaky_relu` activation function (the LeakyReLU layer's default is 0.3).
    static let leakySlope: Float = 0.2

    /// Applies the function; softmax normalises over the last axis.
    public func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .linear: return x
        case .softmax: return Softmax.softmax(x)
        case .relu, .relu6, .leakyReLU:
            let high: Float = self == .relu6 ? 6 : .infinity, slope: Float = self == .leakyReLU ? Self.leakySlope : 0
            return Tensor(shape: x.shape) { p in
                x.scalars.withUnsafeBufferPointer { src in
                    ElementwiseKernels.clampedLinear(
                        src.baseAddress!, into: p.baseAddress!, count: p.count,
                        low: 0, high: high, slope: slope)
                }
            }
        default:
            var y = x
            y.scalars.withUnsafeMutableBufferPointer { p in
                // One loop per function, so that each compiles without a per-element switch.
                switch self {
                case .sigmoid: Self.update(p) { 1 / (1 + exp(-$0)) }
                case .tanh: Self.update(p) { Glibc.tanh($0) }
                case .swish: Self.update(p) { $0 / (1 + exp(-$0)) }
                case .hardSigmoid: Self.update(p) { min(max($0 / 6 + 0.5, 0), 1) }
                case .hardSilu: Self.update(p) { $0 * min(max($0 + 3, 0), 6) / 6 }
                case .gelu: Self.update(p) { 0.5 * $0 * (1 + erf($0 * Float(0.5).squareRoot())) }
                case .elu: Self.update(p) { $0 > 0 ? $0 : expm1($0) }
                case .selu: Self.update(p) { Self.seluScale * ($0 > 0 ? $0 : Self.seluAlpha * expm1($0)) }
                case .softplus: Self.update(p) { Self.softplus($0) }
                case .softsign: Self.update(p) { $0 / (1 + abs($0)) }
                case .exponential: Self.update(p) { exp($0) }
                case .mish: Self.update(p) { $0 * Glibc.tanh(Self.softplus($0)) }
                case .linear, .relu, .relu6, .leakyReLU, .softmax: break
                }
            }
            return y
        }
    }

    /// `log(1 + exp(v))` without overflow.
    @inline(__always)
    static func softplus(_ v: Float) -> Float { max(v, 0) + log1p(exp(-abs(v))) }

    @inline(__always)
    private static func update(_ p: UnsafeMutableBufferPointer<Float>, _ f: (Float) -> Float) {
        for i in 0..<p.count { p[i] = f(p[i]) }
    }

    /// dLoss/dInput from dLoss/dOutput, given the input `x` and output `y` of `apply`.
    public func backward(_ dy: Tensor, input x: Tensor, output y: Tensor) -> Tensor {
        switch self {
        case .linear: return dy
        case .softmax: return Softmax.backward(dy, output: y, axisSize: y.shape.last ?? 1)
        case .relu, .relu6, .leakyReLU:
            let high: Float = self == .relu6 ? 6 : .infinity, slope: Float = self == .leakyReLU ? Self.leakySlope : 0
            return Tensor(shape: dy.shape) { g in
                x.scalars.withUnsafeBufferPointer { xs in
                    dy.scalars.withUnsafeBufferPointer { gs in
                        ElementwiseKernels.clampedLinearGradient(
                            xs.baseAddress!, gs.baseAddress!, into: g.baseAddress!, count: g.count,
                            low: 0, high: high, slope: slope)
                    }
                }
            }
        default:
            var dx = dy
            dx.scalars.withUnsafeMutableBufferPointer { g in
                x.scalars.withUnsafeBufferPointer { xs in
                    y.scalars.withUnsafeBufferPointer { ys in
                        // g *= f'(x), written with the output y where that is cheaper.
                        switch self {
                        case .sigmoid: Self.scale(g, xs, ys) { _, y in y * (1 - y) }
                        case .tanh: Self.scale(g, xs, ys) { _, y in 1 - y * y }
                        case .swish:
                            Self.scale(g, xs, ys) { x, _ in
                                let s = 1 / (1 + exp(-x))
                                return s * (1 + x * (1 - s))
                            }
                        case .hardSigmoid: Self.scale(g, xs, ys) { x, _ in x <= -3 || x >= 3 ? 0 : 1.0 / 6 }
                        case .hardSilu: Self.scale(g, xs, ys) { x, _ in x <= -3 ? 0 : x >= 3 ? 1 : (2 * x + 3) / 6 }
                        case .gelu:
                            Self.scale(g, xs, ys) { x, _ in
                                0.5 * (1 + erf(x * Float(0.5).squareRoot())) + x * exp(-0.5 * x * x)
                                    / Float(2 * Float.pi).squareRoot()
                            }
                        case .elu: Self.scale(g, xs, ys) { x, y in x > 0 ? 1 : y + 1 }
                        case .selu:
                            Self.scale(g, xs, ys) { x, y in x > 0 ? Self.seluScale : y + Self.seluScale * Self.seluAlpha
                            }
                        case .softplus: Self.scale(g, xs, ys) { x, _ in 1 / (1 + exp(-x)) }
                        case .softsign:
                            Self.scale(g, xs, ys) { x, _ in
                                let d = 1 + abs(x)
                                return 1 / (d * d)
                            }
                        case .exponential: Self.scale(g, xs, ys) { _, y in y }
                        case .mish:
                            Self.scale(g, xs, ys) { x, _ in
                                let t = Glibc.tanh(Self.softplus(x)), s = 1 / (1 + exp(-x))
                                return t + x * (1 - t * t) * s
                            }
                        case .linear, .relu, .relu6, .leakyReLU, .softmax: break
                        }
                    }
                }
            }
            return dx
        }
    }

    @inline(__always)
    private static func scale(
        _ g: UnsafeMutableBufferPointer<Float>, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>,
        _ derivative: (Float, Float) -> Float
    ) {
        for i in 0..<g.count { g[i] *= derivative(x[i], y[i]) }
    }

    /// A one-input convolution's prepared pass: its input's shape and its epilogue; nil for
    /// other input counts or an activation the convolution cannot fuse (nothing is prepared).
    func preparedEpilogue(bias: Tensor?, inputShapes: [[Int]]) -> (input: [Int], epilogue: ConvolutionEpilogue)? {
        guard inputShapes.count == 1, let epilogue = convolutionEpilogue(bias: bias) else { return nil }
        return (inputShapes[0], epilogue)
    }

    /// The epilogue a convolution applies in the pass that writes its output, for this
    /// activation after `bias`; nil when the activation is not a rectifier it can fuse.
    public func convolutionEpilogue(bias: Tensor?) -> ConvolutionEpilogue? {
        switch self {
        case .linear: return ConvolutionEpilogue(bias: bias)
        case .relu: return ConvolutionEpilogue(bias: bias, rectifierCap: .infinity)
        case .relu6: return ConvolutionEpilogue(bias: bias, rectifierCap: 6)
        default: return nil
        }
    }
}

extension LayerConfig {
    /// The fused `activation` of a convolution or Dense layer (`linear` when absent).
    func activation() throws -> ActivationFunction {
        try ActivationFunction(kerasName: try string("activation", default: "linear"))
    }
}
