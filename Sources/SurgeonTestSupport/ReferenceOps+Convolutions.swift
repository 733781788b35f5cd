import SurgeonCore

extension Reference {
    /// SeparableConv2D as its definition: `depthwiseConv2D` (no bias), then a 1x1 `conv2D` with
    /// the pointwise kernel `[1, 1, C * M, F]` and the bias.
    public static func separableConv2D(
        input: Tensor, depthwise: Tensor, pointwise: Tensor, bias: Tensor? = nil,
        strides: [Int] = [1, 1], dilation: [Int] = [1, 1], same: Bool = false
    ) -> Tensor {
        let d = depthwiseConv2D(input: input, kernel: depthwise, strides: strides, dilation: dilation, same: same)
        return conv2D(input: d, kernel: pointwise, bias: bias)
    }

    /// Output length and the cells cropped before it along one axis of a transposed
    /// convolution, following KERAS-FORMAT 5.2 and Keras's `deconv_output_length`:
    /// the scatter fills `full = (n - 1) * stride + kernel` cells;
    /// valid: `out = (n - 1) * stride + max(kernel, stride)` from cell 0 (zeros past `full`);
    /// same: `out = n * stride`, cropping `floor((kernel - stride) / 2)` cells at the start when
    /// `kernel > stride` (the rest at the end), zeros past `full` otherwise.
    public static func transposedAxis(
        input n: Int, kernel k: Int, stride s: Int, same: Bool
    ) -> (output: Int, cropBefore: Int) {
        if same { return (n * s, k > s ? (k - s) / 2 : 0) }
        return ((n - 1) * s + max(k, s), 0)
    }

    /// Direct transposed convolution, scatter form without kernel flip: input `[N, H, W, C]`,
    /// Keras kernel `[kh, kw, F, C]` (out before in), optional bias `[F]`;
    /// `full[n, i*sh + a, j*sw + b, f] += input[n, i, j, c] * kernel[a, b, f, c]`, then the
    /// output window of `transposedAxis` is cut out of `full` (cells beyond `full` are zero).
    public static func conv2DTranspose(
        input: Tensor, kernel: Tensor, bias: Tensor? = nil, strides: [Int] = [1, 1], same: Bool = false
    ) -> Tensor {
        let (n, h, w, c) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (kh, kw, f, kc) = (kernel.shape[0], kernel.shape[1], kernel.shape[2], kernel.shape[3])
        precondition(kc == c, "kernel expects \(kc) input channels, input has \(c)")
        let fullShape = [n, (h - 1) * strides[0] + kh, (w - 1) * strides[1] + kw, f]
        var full = [Double](repeating: 0, count: fullShape.reduce(1, *))
        for b in 0..<n {
            for i in 0..<h {
                for j in 0..<w {
                    for ky in 0..<kh {
                        for kx in 0..<kw {
                            for o in 0..<f {
                                for ci in 0..<c {
                                    full[at(fullShape, b, i * strides[0] + ky, j * strides[1] + kx, o)] +=
                                        Double(input.scalars[at(input.shape, b, i, j, ci)])
                                        * Double(kernel.scalars[at(kernel.shape, ky, kx, o, ci)])
                                }
                            }
                        }
                    }
                }
            }
        }
        let rows = transposedAxis(input: h, kernel: kh, stride: strides[0], same: same)
        let cols = transposedAxis(input: w, kernel: kw, stride: strides[1], same: same)
        let outShape = [n, rows.output, cols.output, f]
        var out = Tensor(shape: outShape)
        for b in 0..<n {
            for y in 0..<rows.output {
                for x in 0..<cols.output {
                    for o in 0..<f {
                        let fy = y + rows.cropBefore, fx = x + cols.cropBefore
                        let inside = fy < fullShape[1] && fx < fullShape[2]
                        let value =
                            (inside ? full[at(fullShape, b, fy, fx, o)] : 0) + (bias.map { Double($0.scalars[o]) } ?? 0)
                        out.scalars[at(outShape, b, y, x, o)] = Float(value)
                    }
                }
            }
        }
        return out
    }
}
