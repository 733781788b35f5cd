/// 2-D convolution on NHWC tensors with Keras kernels `[kh, kw, in / groups, out]`.
///
/// `forward` and `backward` run on `ConvolutionBackend.current`: oneDNN by default, or this
/// file's reference, im2col + SGEMM (`referenceForward`, `referenceBackward`), which is also the
/// fallback for anything oneDNN refuses.
///
/// The batch is split into one slice of samples per thread; each thread unfolds its samples
/// (in sub-chunks that keep the im2col buffer near 32 MB) and multiplies with single-threaded
/// SGEMM. This scales better than OpenBLAS's own threading on these tall, thin products (n = the
/// filter count). Kernel gradients are summed per slice, then across slices in slice order,
/// so a fixed thread count gives bit-identical results. A batch of one sample runs on one slice
/// with OpenBLAS's threads instead. A pointwise (1x1, stride 1) convolution skips im2col.
///
/// Grouped convolution (Keras `Conv2D(groups: g)`): output channels `k * out/g ..< (k+1) * out/g`
/// read input channels `k * in/g ..< (k+1) * in/g` only. Each group unfolds its own input
/// channels and multiplies with its columns of the kernel, writing its block of the output in
/// place through the GEMM leading dimensions; `groups = 1` is the plain convolution.
public enum Convolution {
    /// Floats of im2col buffer per sub-chunk.
    static let chunkBudget = 8 << 20

    /// `output[n, oy, ox, f] = sum input[n, iy, ix, group(f) * cg + c] * kernel[ky, kx, c, f]`,
    /// `cg = in / groups`, then `epilogue` (bias, rectifier) when given; the caller checks that
    /// `groups` divides both channel counts. `kernelLayouts` keeps the kernel in oneDNN's layout
    /// between calls (for prediction).
    public static func forward(
        input: Tensor, kernel: Tensor, geometry g: ConvGeometry, groups: Int = 1, epilogue: ConvolutionEpilogue? = nil,
        kernelLayouts: KernelLayoutCache? = nil
    ) -> Tensor {
        if ConvolutionBackend.current == .onednn,
            let y = OneDNNConvolution.forward(
                input: input, kernel: kernel, geometry: g, groups: groups, depthwise: false, epilogue: epilogue,
                kernelLayouts: kernelLayouts)
        {
            return y
        }
        var y = referenceForward(input: input, kernel: kernel, geometry: g, groups: groups)
        epilogue?.apply(to: &y)
        return y
    }

    /// `forward` by im2col + SGEMM.
    public static func referenceForward(
        input: Tensor, kernel: Tensor, geometry g: ConvGeometry, groups: Int = 1
    )
        -> Tensor
    {
        let n = input.shape[0], c = input.shape[3], f = kernel.shape[3]
        let cg = c / groups, fg = f / groups
        let k = g.kernelHeight * g.kernelWidth * cg
        let pixels = g.outputHeight * g.outputWidth
        return Tensor(shape: [n, g.outputHeight, g.outputWidth, f]) { yb in
            input.scalars.withUnsafeBufferPointer { xb in
                kernel.scalars.withUnsafeBufferPointer { wb in
                    let x = UncheckedSendable(xb.baseAddress!), w = UncheckedSendable(wb.baseAddress!)
                    let y = UncheckedSendable(yb.baseAddress!)
                    Compute.batchParallel(n) { samples in
                        let out = y.value + samples.lowerBound * pixels * f
                        if g.isPointwise {
                            for group in 0..<groups {
                                Gemm.multiply(
                                    x.value + samples.lowerBound * pixels * c + group * cg, w.value + group * fg,
                                    into: out + group * fg, m: samples.count * pixels, n: fg, k: k, lda: c, ldb: f,
                                    ldc: f)
                            }
                            return
                        }
                        let perChunk = max(1, min(samples.count, chunkBudget / max(pixels * k, 1)))
                        withScratch(count: perChunk * pixels * k) { col in
                            for start in stride(from: samples.lowerBound, to: samples.upperBound, by: perChunk) {
                                let count = min(perChunk, samples.upperBound - start)
                                for group in 0..<groups {
                                    im2col(
                                        x.value, samples: start..<(start + count), channels: c,
                                        block: (group * cg)..<((group + 1) * cg), geometry: g, into: col)
                                    Gemm.multiply(
                                        col, w.value + group * fg, into: y.value + start * pixels * f + group * fg,
                                        m: count * pixels, n: fg, k: k, ldb: f, ldc: f)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Gradients of a convolution: dLoss/dInput (when `inputGradient` is true) and dLoss/dKernel.
    public static func backward(
        outputGradient dy: Tensor, input: Tensor, kernel: Tensor, geometry g: ConvGeometry, groups: Int = 1,
        inputGradient wantInput: Bool = true
    ) -> (input: Tensor?, kernel: Tensor) {
        if ConvolutionBackend.current == .onednn,
            let result = OneDNNConvolution.backward(
                outputGradient: dy, input: input, kernel: kernel, geometry: g, groups: groups, depthwise: false,
                inputGradient: wantInput)
        {
            return result
        }
        return referenceBackward(
            outputGradient: dy, input: input, kernel: kernel, geometry: g, groups: groups, inputGradient: wantInput)
    }

    /// `backward` by im2col + SGEMM.
    public static func referenceBackward(
        outputGradient dy: Tensor, input: Tensor, kernel: Tensor, geometry g: ConvGeometry, groups: Int = 1,
        inputGradient wantInput: Bool = true
    ) -> (input: Tensor?, kernel: Tensor) {
        let n = input.shape[0], c = input.shape[3], f = kernel.shape[3]
        let cg = c / groups, fg = f / groups
        let k = g.kernelHeight * g.kernelWidth * cg
        let pixels = g.outputHeight * g.outputWidth
        let slices = Compute.chunkRanges(n)
        var partials = [Float](repeating: 0, count: max(slices.count, 1) * k * f)
        var dxStorage = [Float](repeating: 0, count: wantInput ? input.count : 0)
        input.scalars.withUnsafeBufferPointer { xb in
            kernel.scalars.withUnsafeBufferPointer { wb in
                dy.scalars.withUnsafeBufferPointer { gyb in
                    partials.withUnsafeMutableBufferPointer { pb in
                        dxStorage.withUnsafeMutableBufferPointer { gxb in
                            let x = UncheckedSendable(xb.baseAddress!), w = UncheckedSendable(wb.baseAddress!)
                            let gy = UncheckedSendable(gyb.baseAddress!), part = UncheckedSendable(pb.baseAddress!)
                            let gx = UncheckedSendable(wantInput ? gxb.baseAddress : nil)
                            let box = UncheckedSendable(slices)
                            Compute.batchParallel(slices: slices) { index in
                                let samples = box.value[index]
                                let gw = part.value + index * k * f
                                let gySlice = gy.value + samples.lowerBound * pixels * f
                                if g.isPointwise {
                                    let rows = samples.count * pixels
                                    for group in 0..<groups {
                                        Gemm.multiply(
                                            x.value + samples.lowerBound * pixels * c + group * cg, transposeA: true,
                                            gySlice + group * fg, into: gw + group * fg, m: k, n: fg, k: rows, lda: c,
                                            ldb: f, ldc: f)
                                        if let gx = gx.value {
                                            Gemm.multiply(
                                                gySlice + group * fg, w.value + group * fg, transposeB: true,
                                                into: gx + samples.lowerBound * pixels * c + group * cg,
                                                m: rows, n: k, k: fg, lda: f, ldb: f, ldc: c)
                                        }
                                    }
                                    return
                                }
                                let perChunk = max(1, min(samples.count, chunkBudget / max(pixels * k, 1)))
                                withScratch(count: perChunk * pixels * k) { col in
                                    for start in stride(from: samples.lowerBound, to: samples.upperBound, by: perChunk)
                                    {
                                        let count = min(perChunk, samples.upperBound - start)
                                        let rows = count * pixels
                                        for group in 0..<groups {
                                            let gyChunk = gy.value + start * pixels * f + group * fg
                                            let block = (group * cg)..<((group + 1) * cg)
                                            im2col(
                                                x.value, samples: start..<(start + count), channels: c, block: block,
                                                geometry: g, into: col)
                                            Gemm.multiply(
                                                col, transposeA: true, gyChunk, into: gw + group * fg, m: k, n: fg,
                                                k: rows, beta: start == samples.lowerBound ? 0 : 1, ldb: f, ldc: f)
                                            guard let gx = gx.value else { continue }
                                            Gemm.multiply(
                                                gyChunk, w.value + group * fg, transposeB: true, into: col, m: rows,
                                                n: k, k: fg, lda: f, ldb: f)
                                            col2im(
                                                col, samples: start..<(start + count), channels: c, block: block,
                                                geometry: g, into: gx)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var dw = Tensor(shape: kernel.shape)
        dw.scalars.withUnsafeMutableBufferPointer { d in
            partials.withUnsafeBufferPointer { p in
                for s in 0..<slices.count {
                    let base = s * k * f
                    for i in 0..<(k * f) { d[i] += p[base + i] }
                }
            }
        }
        let dx = wantInput ? Tensor(uncheckedShape: input.shape, scalars: dxStorage) : nil
        return (dx, dw)
    }

    /// Runs `body` with an uninitialised buffer of `count` floats (im2col writes every entry).
    static func withScratch(count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        defer { buffer.deallocate() }
        body(buffer)
    }

    /// Unfolds `samples` of the NHWC input (`c` channels) into rows of `kh * kw * block.count`
    /// values, one row per output pixel, ordered `(ky, kx, channel in block)` to match the Keras
    /// kernel reshaped to `[kh * kw * in / groups, out]`. `block` is one group's input channels.
    static func im2col(
        _ x: UnsafePointer<Float>, samples: Range<Int>, channels c: Int, block: Range<Int>, geometry g: ConvGeometry,
        into col: UnsafeMutablePointer<Float>
    ) {
        let cg = block.count
        let k = g.kernelHeight * g.kernelWidth * cg
        let pixels = g.outputHeight * g.outputWidth
        let sampleSize = g.inputHeight * g.inputWidth * c
        for s in 0..<samples.count {
            let src = x + (samples.lowerBound + s) * sampleSize + block.lowerBound
            var row = col + s * pixels * k
            for oy in 0..<g.outputHeight {
                for ox in 0..<g.outputWidth {
                    var dst = row
                    for ky in 0..<g.kernelHeight {
                        let iy = g.inputRow(oy, ky)
                        for kx in 0..<g.kernelWidth {
                            let ix = g.inputColumn(ox, kx)
                            if iy >= 0, iy < g.inputHeight, ix >= 0, ix < g.inputWidth {
                                dst.update(from: src + (iy * g.inputWidth + ix) * c, count: cg)
                            } else {
                                dst.update(repeating: 0, count: cg)
                            }
                            dst += cg
                        }
                    }
                    row += k
                }
            }
        }
    }

    /// The adjoint of `im2col`: adds each column entry back to the input position it came from.
    static func col2im(
        _ col: UnsafePointer<Float>, samples: Range<Int>, channels c: Int, block: Range<Int>, geometry g: ConvGeometry,
        into dx: UnsafeMutablePointer<Float>
    ) {
        let cg = block.count
        let k = g.kernelHeight * g.kernelWidth * cg
        let pixels = g.outputHeight * g.outputWidth
        let sampleSize = g.inputHeight * g.inputWidth * c
        for s in 0..<samples.count {
            let dst = dx + (samples.lowerBound + s) * sampleSize + block.lowerBound
            var row = col + s * pixels * k
            for oy in 0..<g.outputHeight {
                for ox in 0..<g.outputWidth {
                    var src = row
                    for ky in 0..<g.kernelHeight {
                        let iy = g.inputRow(oy, ky)
                        for kx in 0..<g.kernelWidth {
                            let ix = g.inputColumn(ox, kx)
                            if iy >= 0, iy < g.inputHeight, ix >= 0, ix < g.inputWidth {
                                let d = dst + (iy * g.inputWidth + ix) * c
                                for j in 0..<cg { d[j] += src[j] }
                            }
                            src += cg
                        }
                    }
                    row += k
                }
            }
        }
    }
}
