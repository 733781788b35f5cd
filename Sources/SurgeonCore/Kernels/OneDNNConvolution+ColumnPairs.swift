import CDNNL

extension OneDNNConvolution {
    /// A convolution with few outputs, run as one with twice as many on pairs of output columns.
    ///
    /// oneDNN's kernels put output channels in vector lanes, in blocks of the vector width (16
    /// floats with AVX-512, 8 with AVX2): 8 outputs fill half of every block, so a layer pruned
    /// from 16 to 8 outputs costs as much as before. Output columns `2x` and `2x + 1` of a
    /// stride-1 convolution are one column `x` of a convolution with stride 2, a kernel one
    /// column wider and twice the outputs: outputs `0..<f` use the kernel in columns `0..<kw`
    /// (column `kw` zero), outputs `f..<2f` the kernel shifted one column right (column 0
    /// zero). Its NHWC output `[n, oh, ow / 2, 2f]` is the original's `[n, oh, ow, f]` byte for
    /// byte, so nothing is copied; the zero taps cost `(kw + 1) / kw` more multiply-adds, full
    /// blocks save half. Used where that makes fewer blocks of work, on the vector width of
    /// the CPU oneDNN runs on (a function of the shapes and the machine, so results stay
    /// reproducible on a machine).
    struct ColumnPairs {
        /// The paired problem.
        let problem: Problem
        /// The original's outputs (half the paired problem's).
        let outputs: Int

        /// The pairing of `problem` when it saves work at `vectorWidth`; nil otherwise.
        init?(_ problem: Problem, vectorWidth: Int) {
            guard problem.groups == 1, problem.strideWidth == 1, problem.dilationWidth == 1,
                problem.kernelWidth > 1, problem.outputWidth >= 2, problem.outputWidth % 2 == 0
            else { return nil }
            func blocks(_ n: Int) -> Int { (n + vectorWidth - 1) / vectorWidth }
            let f = problem.outputs, kw = problem.kernelWidth
            guard 2 * blocks(f) * kw > blocks(2 * f) * (kw + 1) else { return nil }
            var paired = problem
            paired.outputs = 2 * f
            paired.kernelWidth = kw + 1
            paired.strideWidth = 2
            paired.outputWidth = problem.outputWidth / 2
            // padRight stays: (ow/2 - 1) * 2 + (kw + 1) - w - padLeft = (ow - 1) + kw - w - padLeft.
            self.problem = paired
            outputs = f
        }

        /// Floats in the paired kernel.
        var kernelCount: Int { problem.kernelHeight * problem.kernelWidth * problem.groupChannels * problem.outputs }

        /// Writes the original's Keras kernel `[kh, kw, in, f]` as the paired one,
        /// `[kh, kw + 1, in, 2f]`, into `paired` (`kernelCount` floats).
        func writeKernel(_ kernel: UnsafeBufferPointer<Float>, into paired: UnsafeMutableBufferPointer<Float>) {
            let f = outputs, kh = problem.kernelHeight, kw = problem.kernelWidth - 1, c = problem.groupChannels
            paired.update(repeating: 0)
            for y in 0..<kh {
                for x in 0..<kw {
                    for i in 0..<c {
                        let from = ((y * kw + x) * c + i) * f
                        let left = ((y * (kw + 1) + x) * c + i) * 2 * f
                        let right = ((y * (kw + 1) + x + 1) * c + i) * 2 * f + f
                        for o in 0..<f {
                            paired[left + o] = kernel[from + o]
                            paired[right + o] = kernel[from + o]
                        }
                    }
                }
            }
        }

        /// The bias of both columns of a pair.
        func bias(_ bias: UnsafeBufferPointer<Float>) -> [Float] { Array(bias) + bias }

        /// Floats per vector register of the kernels oneDNN picks on this CPU.
        static let vectorWidth: Int = {
            let isa = dnnl_get_effective_cpu_isa().rawValue
            let avx512 = dnnl_cpu_isa_avx512_core.rawValue & ~dnnl_cpu_isa_avx2.rawValue
            return isa & avx512 != 0 ? 16 : 8
        }()
    }
}
