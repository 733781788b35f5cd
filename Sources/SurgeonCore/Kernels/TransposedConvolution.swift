/// Transposed 2-D convolution on NHWC tensors with Keras kernels `[kh, kw, out, in]` (out
/// before in): the adjoint of `Convolution` for the same kernel, strides and padding.
///
/// `geometry` is the geometry of that adjoint convolution, whose *input* is the transposed
/// convolution's output `[L, L', out]` and whose *output* is the transposed convolution's input
/// `[H, W, in]`: input pixel `(i, j)` scatters `x[i, j, :] . K[a, b, o, :]` to output pixel
/// `(i * s + a - padTop, j * s + b - padLeft)`, cells outside the output dropped.
///
/// Forward is one SGEMM `x . K^T` into columns of `kh * kw * out` values per input pixel, then
/// `col2im` adds them into the output; it splits the batch like `Convolution`. The backward
/// pass is the adjoint convolution itself: dInput = `Convolution.forward(dy, K)` and dKernel is
/// `Convolution`'s kernel gradient with the roles of input and output gradient swapped.
public enum TransposedConvolution {
    /// `output[n, i*s + a - padTop, j*s + b - padLeft, o] += input[n, i, j, c] * kernel[a, b, o, c]`.
    public static func forward(input: Tensor, kernel: Tensor, geometry g: ConvGeometry) -> Tensor {
        let n = input.shape[0], c = input.shape[3], o = kernel.shape[2]
        let k = g.kernelHeight * g.kernelWidth * o
        let pixels = g.outputHeight * g.outputWidth
        var output = Tensor(shape: [n, g.inputHeight, g.inputWidth, o])
        input.scalars.withUnsafeBufferPointer { xb in
            kernel.scalars.withUnsafeBufferPointer { wb in
                output.scalars.withUnsafeMutableBufferPointer { yb in
                    let x = UncheckedSendable(xb.baseAddress!), w = UncheckedSendable(wb.baseAddress!)
                    let y = UncheckedSendable(yb.baseAddress!)
                    Compute.batchParallel(n) { samples in
                        if g.isPointwise {
                            Gemm.multiply(
                                x.value + samples.lowerBound * pixels * c, w.value, transposeB: true,
                                into: y.value + samples.lowerBound * pixels * o, m: samples.count * pixels, n: o, k: c)
                            return
                        }
                        let perChunk = max(1, min(samples.count, Convolution.chunkBudget / max(pixels * k, 1)))
                        Convolution.withScratch(count: perChunk * pixels * k) { col in
                            for start in stride(from: samples.lowerBound, to: samples.upperBound, by: perChunk) {
                                let count = min(perChunk, samples.upperBound - start)
                                Gemm.multiply(
                                    x.value + start * pixels * c, w.value, transposeB: true, into: col,
                                    m: count * pixels, n: k, k: c)
                                Convolution.col2im(
                                    col, samples: start..<(start + count), channels: o, block: 0..<o, geometry: g,
                                    into: y.value)
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// dLoss/dInput (when `inputGradient` is true) and dLoss/dKernel.
    public static func backward(
        outputGradient dy: Tensor, input: Tensor, kernel: Tensor, geometry g: ConvGeometry,
        inputGradient wantInput: Bool = true
    ) -> (input: Tensor?, kernel: Tensor) {
        let dx = wantInput ? Convolution.forward(input: dy, kernel: kernel, geometry: g) : nil
        let dk = Convolution.backward(
            outputGradient: input, input: dy, kernel: kernel, geometry: g, inputGradient: false
        ).kernel
        return (dx, dk)
    }
}
