import SurgeonCore

#if canImport(Glibc)
import Glibc
#endif

/// Keras's element-wise activation functions, used by the `Activation` layer and fused into
/// the convolution layers and Dense (`activation: "relu"`).
public enum ActivationFunction: String, Sendable, CaseIterable {
    case linear, relu, relu6, sigmoid, tanh, softmax, swish, hardSigmoid = "hard_sigmoid"

    /// Reads a Keras activation name (`silu` is Keras's other name for swish).
    public init(kerasName: String) throws {
        switch kerasName {
        case "silu": self = .swish
        case "hard_silu", "hard_swish":
            throw LayerError.unsupported("activation '\(kerasName)' is not supported; supported: \(ActivationFunction.acceptedNames)")
        default:
            guard let value = ActivationFunction(rawValue: kerasName) else {
                throw LayerError.config(.invalid(key: "activation", value: "\"\(kerasName)\"",
                                                 expected: "one of \(ActivationFunction.acceptedNames)"))
            }
            self = value
        }
    }

    static var acceptedNames: String { (allCases.map(\.rawValue) + ["silu"]).joined(separator: ", ") }

    /// Applies the function; softmax normalises over the last axis.
    public func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .linear: return x
        case .softmax: return Softmax.softmax(x)
        case .relu, .relu6:
            return Tensor(shape: x.shape) { p in
                x.scalars.withUnsafeBufferPointer { src in
                    ElementwiseKernels.clampedLinear(src.baseAddress!, into: p.baseAddress!, count: p.count,
                                                     low: 0, high: self == .relu ? .infinity : 6, slope: 0)
                }
            }
        default:
            var y = x
            y.scalars.withUnsafeMutableBufferPointer { p in
                switch self {
                case .relu, .relu6: break
                case .sigmoid: for i in 0..<p.count { p[i] = 1 / (1 + exp(-p[i])) }
                case .tanh: for i in 0..<p.count { p[i] = Glibc.tanh(p[i]) }
                case .swish: for i in 0..<p.count { p[i] = p[i] / (1 + exp(-p[i])) }
                case .hardSigmoid: for i in 0..<p.count { p[i] = min(max(p[i] / 6 + 0.5, 0), 1) }
                case .linear, .softmax: break
                }
            }
            return y
        }
    }

    /// dLoss/dInput from dLoss/dOutput, given the input `x` and output `y` of `apply`.
    public func backward(_ dy: Tensor, input x: Tensor, output y: Tensor) -> Tensor {
        switch self {
        case .linear: return dy
        case .softmax: return Softmax.backward(dy, output: y, axisSize: y.shape.last ?? 1)
        case .relu, .relu6:
            return Tensor(shape: dy.shape) { g in
                x.scalars.withUnsafeBufferPointer { xs in
                    dy.scalars.withUnsafeBufferPointer { gs in
                        ElementwiseKernels.clampedLinearGradient(xs.baseAddress!, gs.baseAddress!, into: g.baseAddress!, count: g.count,
                                                                 low: 0, high: self == .relu ? .infinity : 6, slope: 0)
                    }
                }
            }
        default:
            var dx = dy
            dx.scalars.withUnsafeMutableBufferPointer { g in
                x.scalars.withUnsafeBufferPointer { xs in
                    y.scalars.withUnsafeBufferPointer { ys in
                        switch self {
                        case .relu, .relu6: break
                        case .sigmoid: for i in 0..<g.count { g[i] *= ys[i] * (1 - ys[i]) }
                        case .tanh: for i in 0..<g.count { g[i] *= 1 - ys[i] * ys[i] }
                        case .swish:
                            for i in 0..<g.count {
                                let s = 1 / (1 + exp(-xs[i]))
                                g[i] *= s * (1 + xs[i] * (1 - s))
                            }
                        case .hardSigmoid: for i in 0..<g.count where xs[i] <= -3 || xs[i] >= 3 { g[i] = 0 }
                        case .linear, .softmax: break
                        }
                    }
                }
            }
            if self == .hardSigmoid { dx.scale(by: 1.0 / 6.0) }
            return dx
        }
    }
}
