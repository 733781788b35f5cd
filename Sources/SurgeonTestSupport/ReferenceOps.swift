import Foundation
import SurgeonCore

/// Naive reference implementations for checking the production kernels and layers.
///
/// Deliberately slow and obvious: plain nested loops with explicit index arithmetic, Double
/// accumulation, padding computed here from TensorFlow's definition, and nothing shared with
/// `Convolution`, `DepthwiseConvolution`, `ConvGeometry` or the layers.
public enum Reference {
    /// Output size and leading padding along one axis, following TensorFlow:
    /// valid: `out = floor((in - effective) / stride) + 1`, no padding;
    /// same: `out = ceil(in / stride)`, total padding `max((out - 1) * stride + effective - in, 0)`,
    /// of which `total / 2` goes before (top/left) and the rest after.
    public static func axis(
        input: Int, kernel: Int, stride: Int, dilation: Int = 1, same: Bool
    ) -> (output: Int, padBefore: Int) {
        let effective = (kernel - 1) * dilation + 1
        if same {
            let output = (input + stride - 1) / stride
            let total = max((output - 1) * stride + effective - input, 0)
            return (output, total / 2)
        }
        return (input >= effective ? (input - effective) / stride + 1 : 0, 0)
    }

    /// Flat index of `[i0, i1, i2, i3]` in a row-major tensor of shape `[d0, d1, d2, d3]`.
    @inline(__always)
    static func at(_ shape: [Int], _ i0: Int, _ i1: Int, _ i2: Int, _ i3: Int) -> Int {
        ((i0 * shape[1] + i1) * shape[2] + i2) * shape[3] + i3
    }

    /// Direct 2-D convolution: input `[N, H, W, C]`, Keras kernel `[kh, kw, C, F]`, optional
    /// bias `[F]`; `output[n, oy, ox, f] = bias[f] + sum_{ky, kx, c} input[n, iy, ix, c] * kernel[ky, kx, c, f]`
    /// with `iy = oy * strideH - padTop + ky * dilationH` (zero outside the input).
    ///
    /// With `groups = g`, the kernel is `[kh, kw, C / g, F]` and output channel `o` reads input
    /// channels `(o / (F / g)) * (C / g) + ci` for `ci` in `0..<C / g` (Keras's grouped Conv2D).
    public static func conv2D(
        input: Tensor, kernel: Tensor, bias: Tensor? = nil,
        strides: [Int] = [1, 1], dilation: [Int] = [1, 1], same: Bool = false, groups: Int = 1
    ) -> Tensor {
        let (n, h, w, c) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (kh, kw, kc, f) = (kernel.shape[0], kernel.shape[1], kernel.shape[2], kernel.shape[3])
        precondition(
            kc * groups == c && f % groups == 0, "kernel expects \(kc) x \(groups) input channels, input has \(c)")
        let filtersPerGroup = f / groups
        let rows = axis(input: h, kernel: kh, stride: strides[0], dilation: dilation[0], same: same)
        let cols = axis(input: w, kernel: kw, stride: strides[1], dilation: dilation[1], same: same)
        let outShape = [n, rows.output, cols.output, f]
        var out = Tensor(shape: outShape)
        for b in 0..<n {
            for oy in 0..<rows.output {
                for ox in 0..<cols.output {
                    for o in 0..<f {
                        var acc = bias.map { Double($0.scalars[o]) } ?? 0
                        for ky in 0..<kh {
                            let iy = oy * strides[0] - rows.padBefore + ky * dilation[0]
                            if iy < 0 || iy >= h { continue }
                            for kx in 0..<kw {
                                let ix = ox * strides[1] - cols.padBefore + kx * dilation[1]
                                if ix < 0 || ix >= w { continue }
                                for ci in 0..<kc {
                                    let channel = (o / filtersPerGroup) * kc + ci
                                    acc +=
                                        Double(input.scalars[at(input.shape, b, iy, ix, channel)])
                                        * Double(kernel.scalars[at(kernel.shape, ky, kx, ci, o)])
                                }
                            }
                        }
                        out.scalars[at(outShape, b, oy, ox, o)] = Float(acc)
                    }
                }
            }
        }
        return out
    }

    /// Direct depthwise convolution: kernel `[kh, kw, C, M]`, output channel `c * M + m` is
    /// `bias[c * M + m] + sum_{ky, kx} input[n, iy, ix, c] * kernel[ky, kx, c, m]`.
    public static func depthwiseConv2D(
        input: Tensor, kernel: Tensor, bias: Tensor? = nil,
        strides: [Int] = [1, 1], dilation: [Int] = [1, 1], same: Bool = false
    ) -> Tensor {
        let (n, h, w, c) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (kh, kw, kc, m) = (kernel.shape[0], kernel.shape[1], kernel.shape[2], kernel.shape[3])
        precondition(kc == c, "kernel expects \(kc) input channels, input has \(c)")
        let rows = axis(input: h, kernel: kh, stride: strides[0], dilation: dilation[0], same: same)
        let cols = axis(input: w, kernel: kw, stride: strides[1], dilation: dilation[1], same: same)
        let outShape = [n, rows.output, cols.output, c * m]
        var out = Tensor(shape: outShape)
        for b in 0..<n {
            for oy in 0..<rows.output {
                for ox in 0..<cols.output {
                    for ci in 0..<c {
                        for q in 0..<m {
                            var acc = bias.map { Double($0.scalars[ci * m + q]) } ?? 0
                            for ky in 0..<kh {
                                let iy = oy * strides[0] - rows.padBefore + ky * dilation[0]
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<kw {
                                    let ix = ox * strides[1] - cols.padBefore + kx * dilation[1]
                                    if ix < 0 || ix >= w { continue }
                                    acc +=
                                        Double(input.scalars[at(input.shape, b, iy, ix, ci)])
                                        * Double(kernel.scalars[at(kernel.shape, ky, kx, ci, q)])
                                }
                            }
                            out.scalars[at(outShape, b, oy, ox, ci * m + q)] = Float(acc)
                        }
                    }
                }
            }
        }
        return out
    }

    /// `output[n, u] = bias[u] + sum_i input[n, i] * kernel[i, u]`, kernel `[in, units]`.
    public static func dense(input: Tensor, kernel: Tensor, bias: Tensor? = nil) -> Tensor {
        let n = input.shape[0], features = input.shape[1], units = kernel.shape[1]
        precondition(kernel.shape[0] == features)
        var out = Tensor(shape: [n, units])
        for b in 0..<n {
            for u in 0..<units {
                var acc = bias.map { Double($0.scalars[u]) } ?? 0
                for i in 0..<features {
                    acc += Double(input.scalars[b * features + i]) * Double(kernel.scalars[i * units + u])
                }
                out.scalars[b * units + u] = Float(acc)
            }
        }
        return out
    }

    /// Max or average pooling of `[N, H, W, C]`. Padded positions never take part: a max ignores
    /// them and an average divides by the number of real positions in the window (TensorFlow).
    public static func pool2D(
        input: Tensor, poolSize: [Int], strides: [Int], same: Bool, max useMax: Bool
    ) -> Tensor {
        let (n, h, w, c) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let rows = axis(input: h, kernel: poolSize[0], stride: strides[0], same: same)
        let cols = axis(input: w, kernel: poolSize[1], stride: strides[1], same: same)
        let outShape = [n, rows.output, cols.output, c]
        var out = Tensor(shape: outShape)
        for b in 0..<n {
            for oy in 0..<rows.output {
                for ox in 0..<cols.output {
                    for ci in 0..<c {
                        var best = -Double.infinity, sum = 0.0, count = 0
                        for py in 0..<poolSize[0] {
                            let iy = oy * strides[0] - rows.padBefore + py
                            if iy < 0 || iy >= h { continue }
                            for px in 0..<poolSize[1] {
                                let ix = ox * strides[1] - cols.padBefore + px
                                if ix < 0 || ix >= w { continue }
                                let v = Double(input.scalars[at(input.shape, b, iy, ix, ci)])
                                best = Swift.max(best, v)
                                sum += v
                                count += 1
                            }
                        }
                        out.scalars[at(outShape, b, oy, ox, ci)] = Float(useMax ? best : sum / Double(count))
                    }
                }
            }
        }
        return out
    }

    /// Max pooling (see `pool2D`).
    public static func maxPool2D(input: Tensor, poolSize: [Int], strides: [Int]? = nil, same: Bool = false) -> Tensor {
        pool2D(input: input, poolSize: poolSize, strides: strides ?? poolSize, same: same, max: true)
    }

    /// Average pooling (see `pool2D`).
    public static func averagePool2D(
        input: Tensor, poolSize: [Int], strides: [Int]? = nil, same: Bool = false
    ) -> Tensor {
        pool2D(input: input, poolSize: poolSize, strides: strides ?? poolSize, same: same, max: false)
    }

    /// Global average (or max) over height and width: `[N, H, W, C] -> [N, C]`.
    public static func globalPool(input: Tensor, max useMax: Bool) -> Tensor {
        let (n, h, w, c) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        var out = Tensor(shape: [n, c])
        for b in 0..<n {
            for ci in 0..<c {
                var best = -Double.infinity, sum = 0.0
                for y in 0..<h {
                    for x in 0..<w {
                        let v = Double(input.scalars[at(input.shape, b, y, x, ci)])
                        best = Swift.max(best, v)
                        sum += v
                    }
                }
                out.scalars[b * c + ci] = Float(useMax ? best : sum / Double(h * w))
            }
        }
        return out
    }

    /// Batch normalisation with given statistics over the last axis:
    /// `gamma * (x - mean) / sqrt(variance + epsilon) + beta`.
    public static func batchNorm(
        input: Tensor, mean: [Float], variance: [Float], gamma: [Float], beta: [Float], epsilon: Float
    ) -> Tensor {
        let c = input.shape.last!
        var out = input
        for i in 0..<input.count {
            let ch = i % c
            let normalized =
                (Double(input.scalars[i]) - Double(mean[ch])) / (Double(variance[ch]) + Double(epsilon)).squareRoot()
            out.scalars[i] = Float(Double(gamma[ch]) * normalized + Double(beta[ch]))
        }
        return out
    }

    /// Per-channel mean and biased variance over every axis but the last.
    public static func channelMoments(_ input: Tensor) -> (mean: [Float], variance: [Float]) {
        let c = input.shape.last!
        let m = input.count / c
        var mean = [Double](repeating: 0, count: c), variance = [Double](repeating: 0, count: c)
        for i in 0..<input.count { mean[i % c] += Double(input.scalars[i]) / Double(m) }
        for i in 0..<input.count {
            let d = Double(input.scalars[i]) - mean[i % c]
            variance[i % c] += d * d / Double(m)
        }
        return (mean.map { Float($0) }, variance.map { Float($0) })
    }
    /// Keras's element-wise activations by name, in Double (softmax is row-wise: see `softmax`),
    /// from Keras 3's definitions: hard_sigmoid is `relu6(x + 3) / 6`, gelu the exact erf form,
    /// leaky_relu's slope 0.2, elu's alpha 1.
    public static func activation(_ name: String, _ x: Double) -> Double {
        switch name {
        case "linear": return x
        case "relu": return Swift.max(x, 0)
        case "relu6": return Swift.min(Swift.max(x, 0), 6)
        case "sigmoid": return 1 / (1 + Foundation.exp(-x))
        case "tanh": return Foundation.tanh(x)
        case "swish", "silu": return x / (1 + Foundation.exp(-x))
        case "hard_sigmoid": return Swift.min(Swift.max(x + 3, 0), 6) / 6
        case "hard_silu", "hard_swish": return x * Swift.min(Swift.max(x + 3, 0), 6) / 6
        case "gelu": return 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
        case "elu": return x > 0 ? x : Foundation.exp(x) - 1
        case "selu": return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (Foundation.exp(x) - 1))
        case "softplus": return Foundation.log(1 + Foundation.exp(x))
        case "softsign": return x / (1 + Swift.abs(x))
        case "exponential": return Foundation.exp(x)
        case "leaky_relu": return x >= 0 ? x : 0.2 * x
        case "mish": return x * Foundation.tanh(Foundation.log(1 + Foundation.exp(x)))
        default: preconditionFailure("no reference for activation '\(name)'")
        }
    }

    /// Applies a Keras activation to every element (softmax over the last axis).
    public static func activation(_ name: String, _ input: Tensor) -> Tensor {
        if name == "softmax" { return softmax(input) }
        var out = input
        for i in 0..<input.count { out.scalars[i] = Float(activation(name, Double(input.scalars[i]))) }
        return out
    }

    /// `exp(x_j) / sum_i exp(x_i)` along the last axis, in Double.
    public static func softmax(_ input: Tensor) -> Tensor {
        let c = input.shape.last!
        var out = input
        for row in 0..<(input.count / c) {
            var total = 0.0
            for j in 0..<c { total += Foundation.exp(Double(input.scalars[row * c + j])) }
            for j in 0..<c {
                out.scalars[row * c + j] = Float(Foundation.exp(Double(input.scalars[row * c + j])) / total)
            }
        }
        return out
    }
}
