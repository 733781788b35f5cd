/// Depthwise 2-D convolution on NHWC tensors with Keras kernels `[kh, kw, in, multiplier]`:
/// output channel `c * multiplier + m` reads input channel `c` only.
///
/// `forward` and `backward` run on `ConvolutionBackend.current` (oneDNN by default, as a grouped
/// convolution with one group per input channel). The reference, `referenceForward` and
/// `referenceBackward`, is a direct kernel (no GEMM): for each output pixel and kernel tap it runs one contiguous loop
/// over channels, which the compiler vectorises. Work is split over samples and rows; the
/// kernel gradient keeps one partial sum per chunk and adds them in chunk order, so a fixed
/// thread count gives bit-identical results.
public enum DepthwiseConvolution {
    /// Then `epilogue` (bias, rectifier) when given. `kernelLayouts` keeps the kernel in
    /// oneDNN's layout between calls (for prediction).
    public static func forward(
        input: Tensor, kernel: Tensor, geometry g: ConvGeometry, epilogue: ConvolutionEpilogue? = nil,
        kernelLayouts: KernelLayoutCache? = nil
    ) -> Tensor {
        if ConvolutionBackend.current == .onednn,
            let y = OneDNNConvolution.forward(
                input: input, kernel: kernel, geometry: g, groups: 1, depthwise: true, epilogue: epilogue,
                kernelLayouts: kernelLayouts)
        {
            return y
        }
        var y = referenceForward(input: input, kernel: kernel, geometry: g)
        epilogue?.apply(to: &y)
        return y
    }

    /// `forward` by the direct kernel.
    public static func referenceForward(input: Tensor, kernel: Tensor, geometry g: ConvGeometry) -> Tensor {
        let n = input.shape[0], c = input.shape[3], m = kernel.shape[3]
        let co = c * m
        var output = Tensor(shape: [n, g.outputHeight, g.outputWidth, co])
        let rows = n * g.outputHeight
        input.scalars.withUnsafeBufferPointer { xb in
            kernel.scalars.withUnsafeBufferPointer { wb in
                output.scalars.withUnsafeMutableBufferPointer { yb in
                    let x = UncheckedSendable(xb.baseAddress!), w = UncheckedSendable(wb.baseAddress!)
                    let y = UncheckedSendable(yb.baseAddress!)
                    Compute.parallelChunks(rows, minimumChunk: 4) { range in
                        for r in range {
                            let s = r / g.outputHeight, oy = r % g.outputHeight
                            let xs = x.value + s * g.inputHeight * g.inputWidth * c
                            for ox in 0..<g.outputWidth {
                                let out = y.value + (r * g.outputWidth + ox) * co
                                for ky in 0..<g.kernelHeight {
                                    let iy = g.inputRow(oy, ky)
                                    guard iy >= 0, iy < g.inputHeight else { continue }
                                    for kx in 0..<g.kernelWidth {
                                        let ix = g.inputColumn(ox, kx)
                                        guard ix >= 0, ix < g.inputWidth else { continue }
                                        let xp = xs + (iy * g.inputWidth + ix) * c
                                        let wp = w.value + (ky * g.kernelWidth + kx) * co
                                        if m == 1 {
                                            for j in 0..<c { out[j] += xp[j] * wp[j] }
                                        } else {
                                            for ch in 0..<c {
                                                let v = xp[ch]
                                                for q in 0..<m { out[ch * m + q] += v * wp[ch * m + q] }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// dLoss/dInput (when asked) and dLoss/dKernel.
    public static func backward(
        outputGradient dy: Tensor, input: Tensor, kernel: Tensor, geometry g: ConvGeometry,
        inputGradient wantInput: Bool = true
    ) -> (input: Tensor?, kernel: Tensor) {
        if ConvolutionBackend.current == .onednn,
            let result = OneDNNConvolution.backward(
                outputGradient: dy, input: input, kernel: kernel, geometry: g, groups: 1, depthwise: true,
                inputGradient: wantInput)
        {
            return result
        }
        return referenceBackward(
            outputGradient: dy, input: input, kernel: kernel, geometry: g, inputGradient: wantInput)
    }

    /// `backward` by the direct kernel.
    public static func referenceBackward(
        outputGradient dy: Tensor, input: Tensor, kernel: Tensor, geometry g: ConvGeometry,
        inputGradient wantInput: Bool = true
    ) -> (input: Tensor?, kernel: Tensor) {
        let n = input.shape[0], c = input.shape[3], m = kernel.shape[3]
        let co = c * m
        let kernelCount = kernel.count
        var dxStorage = [Float](repeating: 0, count: wantInput ? input.count : 0)
        let chunks = Compute.chunkRanges(n)
        var partials = [Float](repeating: 0, count: max(chunks.count, 1) * kernelCount)
        input.scalars.withUnsafeBufferPointer { xb in
            kernel.scalars.withUnsafeBufferPointer { wb in
                dy.scalars.withUnsafeBufferPointer { gyb in
                    partials.withUnsafeMutableBufferPointer { pb in
                        dxStorage.withUnsafeMutableBufferPointer { gxb in
                            let x = UncheckedSendable(xb.baseAddress!), w = UncheckedSendable(wb.baseAddress!)
                            let gy = UncheckedSendable(gyb.baseAddress!), part = UncheckedSendable(pb.baseAddress!)
                            let gx = UncheckedSendable(wantInput ? gxb.baseAddress : nil)
                            let box = UncheckedSendable(chunks)
                            Compute.parallelChunks(chunks.count) { chunkRange in
                                for chunk in chunkRange {
                                    let gw = part.value + chunk * kernelCount
                                    for s in box.value[chunk] {
                                        let xs = x.value + s * g.inputHeight * g.inputWidth * c
                                        let gxs = gx.value.map { $0 + s * g.inputHeight * g.inputWidth * c }
                                        for oy in 0..<g.outputHeight {
                                            for ox in 0..<g.outputWidth {
                                                let go =
                                                    gy.value + ((s * g.outputHeight + oy) * g.outputWidth + ox) * co
                                                for ky in 0..<g.kernelHeight {
                                                    let iy = g.inputRow(oy, ky)
                                                    guard iy >= 0, iy < g.inputHeight else { continue }
                                                    for kx in 0..<g.kernelWidth {
                                                        let ix = g.inputColumn(ox, kx)
                                                        guard ix >= 0, ix < g.inputWidth else { continue }
                                                        let offset = (iy * g.inputWidth + ix) * c
                                                        let xp = xs + offset
                                                        let tap = (ky * g.kernelWidth + kx) * co
                                                        let wp = w.value + tap, gwp = gw + tap
                                                        if m == 1 {
                                                            for j in 0..<c { gwp[j] += xp[j] * go[j] }
                                                            if let gxs {
                                                                let gxp = gxs + offset;
                                                                for j in 0..<c { gxp[j] += wp[j] * go[j] }
                                                            }
                                                        } else {
                                                            for ch in 0..<c {
                                                                var acc: Float = 0
                                                                for q in 0..<m {
                                                                    gwp[ch * m + q] += xp[ch] * go[ch * m + q]
                                                                    acc += wp[ch * m + q] * go[ch * m + q]
                                                                }
                                                                if let gxs { gxs[offset + ch] += acc }
                                                            }
                                                        }
                                                    }
                                                }
                                            }
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
        for chunk in 0..<chunks.count {
            for i in 0..<kernelCount { dw.scalars[i] += partials[chunk * kernelCount + i] }
        }
        let dx = wantInput ? Tensor(uncheckedShape: input.shape, scalars: dxStorage) : nil
        return (dx, dw)
    }
}
