import CDNNL

extension OneDNNConvolution {
    /// A forward convolution made ready for one input shape: its problem, thread count, plan
    /// and a binding of its own whose kernel (in the primitive's layout) and bias are pointed
    /// at once, so that a call only points the input and output and executes. At batch 1 the
    /// per-call work of `forward` (finding the problem's plan, borrowing a binding, checking
    /// the kernel) cost about as much as a small convolution.
    ///
    /// Holds the kernel tensor, and with it the buffer the binding reads (or the cache entry
    /// made from it), so what was pointed at stays valid and unchanged: a write to the
    /// caller's kernel copies it first (copy on write). Not for concurrent calls: one binding.
    final class Prepared {
        let inputShape: [Int]
        let outputShape: [Int]
        private let threads: Int
        private let plan: Plan
        private let binding: Binding
        /// What the binding's kernel and bias memories point at.
        private let kernel: Tensor
        private let pairedKernel: [Float]?
        private let bias: [Float]?

        /// Nil when oneDNN cannot run this convolution (no engine, shapes it refuses, a failure
        /// while setting up): the caller takes its own path.
        init?(
            inputShape: [Int], kernel: Tensor, geometry g: ConvGeometry, groups: Int, depthwise: Bool,
            epilogue: ConvolutionEpilogue?, kernelLayouts: KernelLayoutCache?
        ) {
            guard
                let (problem, pairs, threads, plan) = forwardPlan(
                    inputShape: inputShape, kernel: kernel, geometry: g, groups: groups, depthwise: depthwise,
                    epilogue: epilogue),
                let binding = Binding(plan)
            else { return nil }
            self.inputShape = inputShape
            outputShape = problem.outputShape
            self.threads = threads
            self.plan = plan
            self.binding = binding
            self.kernel = kernel
            bias = epilogue?.bias.map { b in pairs.map { b.scalars.withUnsafeBufferPointer($0.bias) } ?? b.scalars }
            if let pairs, plan.weightLayout == nil {
                pairedKernel = kernel.scalars.withUnsafeBufferPointer { w in
                    [Float](unsafeUninitializedCapacity: pairs.kernelCount) { buffer, count in
                        pairs.writeKernel(w, into: buffer)
                        count = pairs.kernelCount
                    }
                }
            } else {
                pairedKernel = nil
            }
            defer { binding.release() }
            do {
                try bindConstants(pairs, cache: kernelLayouts ?? KernelLayoutCache())
            } catch {
                return nil
            }
        }

        /// Points the binding's kernel and bias memories for every later call. A kernel in the
        /// primitive's own layout comes from `cache` (the binding keeps the entry).
        private func bindConstants(_ pairs: ColumnPairs?, cache: KernelLayoutCache) throws(Failure) {
            if let biasMemory = binding.bias {
                guard let address = bias?.withUnsafeBufferPointer({ $0.baseAddress }) else { throw Failure() }
                try binding.point(biasMemory, at: address)
            }
            if let pairedKernel {
                guard let address = pairedKernel.withUnsafeBufferPointer({ $0.baseAddress }) else { throw Failure() }
                try binding.point(binding.kernel, at: address)
                return
            }
            try kernel.scalars.withUnsafeBufferPointer { (w) throws(Failure) in
                guard let address = w.baseAddress else { throw Failure() }
                let source: KernelSource = pairs.map { .paired($0, w) } ?? .keras(address)
                try binding.setKernel(source, of: kernel, cache: cache)
            }
        }

        /// The convolution of `input`, which must have `inputShape` (the caller checks); nil
        /// when oneDNN failed.
        func run(_ input: Tensor) -> Tensor? {
            enterTeam(of: threads)
            defer { binding.release() }
            var ok = false
            let output = Tensor(shape: outputShape) { y in
                ok = input.scalars.withUnsafeBufferPointer { x in
                    do {
                        try binding.point(binding.input, at: x.baseAddress!)
                        try binding.point(binding.output, at: y.baseAddress!)
                        try binding.execute()
                        return dnnl_stream_wait(binding.stream) == dnnl_success
                    } catch {
                        return false
                    }
                }
            }
            return ok ? output : nil
        }
    }
}
