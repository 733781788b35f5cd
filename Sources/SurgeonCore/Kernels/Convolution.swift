/// 2-D convolution on NHWC tensors with Keras kernels `[kh, kw, in, out]`, via im2col + SGEMM.
///
/// The batch is processed in chunks of samples so that the im2col buffer stays near 32 MB;
/// im2col and col2im run in parallel over samples, and SGEMM uses OpenBLAS's threads. A
/// pointwise (1x1, stride 1) convolution skips im2col: the input already is the matrix.
public enum Convolution {
    /// Floats of im2col buffer per chunk.
    static let chunkBudget = 8 << 20

    /// `output[n, oy, ox, f] = sum input[n, iy, ix, c] * kernel[ky, kx, c, f]`.
    public static func forward(input: Tensor, kernel: Tensor, geometry g: ConvGeometry) -> Tensor {
        let n = input.shape[0], c = input.shape[3], f = kernel.shape[3]
        let k = g.kernelHeight * g.kernelWidth * c
        let pixels = g.outputHeight * g.outputWidth
        return Tensor(shape: [n, g.outputHeight, g.outputWidth, f]) { y in
            input.scalars.withUnsafeBufferPointer { x in
                kernel.scalars.withUnsafeBufferPointer { w in
                    if g.isPointwise {
                        Gemm.multiply(x.baseAddress!, w.baseAddress!, into: y.baseAddress!, m: n * pixels, n: f, k: k)
                        return
                    }
                    let perChunk = max(1, min(n, chunkBudget / max(pixels * k, 1)))
                    withScratch(count: perChunk * pixels * k) { col in
                        for start in stride(from: 0, to: n, by: perChunk) {
                            let count = min(perChunk, n - start)
                            im2col(x.baseAddress!, samples: start..<(start + count), channels: c, geometry: g, into: col)
                            Gemm.multiply(col, w.baseAddress!, into: y.baseAddress! + start * pixels * f,
                                          m: count * pixels, n: f, k: k)
                        }
                    }
                }
            }
        }
    }

    /// Runs `body` with an uninitialised buffer of `count` floats (im2col writes every entry).
    static func withScratch(count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        defer { buffer.deallocate() }
        body(buffer)
    }

    /// Gradients of a convolution: dLoss/dInput (when `inputGradient` is true) and dLoss/dKernel.
    public static func backward(
        outputGradient dy: Tensor, input: Tensor, kernel: Tensor, geometry g: ConvGeometry,
        inputGradient wantInput: Bool = true
    ) -> (input: Tensor?, kernel: Tensor) {
        let n = input.shape[0], c = input.shape[3], f = kernel.shape[3]
        let k = g.kernelHeight * g.kernelWidth * c
        let pixels = g.outputHeight * g.outputWidth
        var dx = wantInput ? Tensor(shape: input.shape) : nil
        var dw = Tensor(shape: kernel.shape)
        input.scalars.withUnsafeBufferPointer { x in
            kernel.scalars.withUnsafeBufferPointer { w in
                dy.scalars.withUnsafeBufferPointer { gy in
                    dw.scalars.withUnsafeMutableBufferPointer { gw in
                        if g.isPointwise {
                            Gemm.multiply(x.baseAddress!, transposeA: true, gy.baseAddress!, into: gw.baseAddress!,
                                          m: k, n: f, k: n * pixels)
                            if wantInput {
                                dx!.scalars.withUnsafeMutableBufferPointer { gx in
                                    Gemm.multiply(gy.baseAddress!, w.baseAddress!, transposeB: true, into: gx.baseAddress!,
                                                  m: n * pixels, n: k, k: f)
                                }
                            }
                            return
                        }
                        let perChunk = max(1, min(n, chunkBudget / max(pixels * k, 1)))
                        withScratch(count: perChunk * pixels * k) { colPtr in
                            for start in stride(from: 0, to: n, by: perChunk) {
                                let count = min(perChunk, n - start)
                                let rows = count * pixels
                                let gyChunk = gy.baseAddress! + start * pixels * f
                                im2col(x.baseAddress!, samples: start..<(start + count), channels: c, geometry: g, into: colPtr)
                                Gemm.multiply(colPtr, transposeA: true, gyChunk, into: gw.baseAddress!,
                                              m: k, n: f, k: rows, beta: start == 0 ? 0 : 1)
                                guard wantInput else { continue }
                                Gemm.multiply(gyChunk, w.baseAddress!, transposeB: true, into: colPtr, m: rows, n: k, k: f)
                                dx!.scalars.withUnsafeMutableBufferPointer { gx in
                                    col2im(colPtr, samples: start..<(start + count), channels: c, geometry: g, into: gx.baseAddress!)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx, dw)
    }

    /// Unfolds `samples` of the NHWC input into rows of `kh * kw * c` values, one row per output
    /// pixel, ordered `(ky, kx, c)` to match the Keras kernel reshaped to `[kh * kw * c, out]`.
    static func im2col(_ x: UnsafePointer<Float>, samples: Range<Int>, channels c: Int, geometry g: ConvGeometry,
                       into col: UnsafeMutablePointer<Float>) {
        let k = g.kernelHeight * g.kernelWidth * c
        let pixels = g.outputHeight * g.outputWidth
        let sampleSize = g.inputHeight * g.inputWidth * c
        let xBox = UncheckedSendable(x), colBox = UncheckedSendable(col)
        Compute.parallelChunks(samples.count) { range in
            for s in range {
                let src = xBox.value + (samples.lowerBound + s) * sampleSize
                var row = colBox.value + s * pixels * k
                for oy in 0..<g.outputHeight {
                    for ox in 0..<g.outputWidth {
                        var dst = row
                        for ky in 0..<g.kernelHeight {
                            let iy = g.inputRow(oy, ky)
                            for kx in 0..<g.kernelWidth {
                                let ix = g.inputColumn(ox, kx)
                                if iy >= 0, iy < g.inputHeight, ix >= 0, ix < g.inputWidth {
                                    dst.update(from: src + (iy * g.inputWidth + ix) * c, count: c)
                                } else {
                                    dst.update(repeating: 0, count: c)
                                }
                                dst += c
                            }
                        }
                        row += k
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: adds each column entry back to the input position it came from.
    static func col2im(_ col: UnsafePointer<Float>, samples: Range<Int>, channels c: Int, geometry g: ConvGeometry,
                       into dx: UnsafeMutablePointer<Float>) {
        let k = g.kernelHeight * g.kernelWidth * c
        let pixels = g.outputHeight * g.outputWidth
        let sampleSize = g.inputHeight * g.inputWidth * c
        let colBox = UncheckedSendable(col), dxBox = UncheckedSendable(dx)
        Compute.parallelChunks(samples.count) { range in
            for s in range {
                let dst = dxBox.value + (samples.lowerBound + s) * sampleSize
                var row = colBox.value + s * pixels * k
                for oy in 0..<g.outputHeight {
                    for ox in 0..<g.outputWidth {
                        var src = row
                        for ky in 0..<g.kernelHeight {
                            let iy = g.inputRow(oy, ky)
                            for kx in 0..<g.kernelWidth {
                                let ix = g.inputColumn(ox, kx)
                                if iy >= 0, iy < g.inputHeight, ix >= 0, ix < g.inputWidth {
                                    let d = dst + (iy * g.inputWidth + ix) * c
                                    for j in 0..<c { d[j] += src[j] }
                                }
                                src += c
                            }
                        }
                        row += k
                    }
                }
            }
        }
    }
}
