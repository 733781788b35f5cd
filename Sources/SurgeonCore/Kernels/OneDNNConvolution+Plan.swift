import CDNNL
import Synchronization

extension OneDNNConvolution {
    /// A oneDNN failure during a call; the caller falls back to its own path.
    struct Failure: Error {}

    /// Where a call's Keras kernel comes from.
    enum KernelSource {
        case keras(UnsafePointer<Float>)
        /// The kernel of a convolution run on column pairs: `ColumnPairs.writeKernel` of it.
        case paired(ColumnPairs, UnsafeBufferPointer<Float>)
    }

    /// A ready primitive for one problem and pass, and what a call needs besides its data: how
    /// the Keras kernel reaches the primitive's weight layout (or a kernel gradient leaves it),
    /// the scratchpad's descriptor, and idle `Binding`s to run it with.
    final class Plan: @unchecked Sendable {
        let pass: Pass
        let engine: dnnl_engine_t
        let descriptor: dnnl_primitive_desc_t
        let primitive: dnnl_primitive_t
        let problem: Problem
        let userWeights: dnnl_memory_desc_t
        /// The primitive's own weight (or kernel-gradient) layout, when it differs from Keras's.
        let weightLayout: dnnl_memory_desc_t?
        /// user -> `weightLayout` (forward, backward data) or `weightLayout` -> user (backward weights).
        let reorder: dnnl_primitive_t?
        let reorderDescriptor: dnnl_primitive_desc_t?
        /// The scratchpads the primitive and the reorder need, nil when none.
        let scratchpad: dnnl_memory_desc_t?
        let reorderScratchpad: dnnl_memory_desc_t?
        private let idle = Mutex(UncheckedSendable<[Binding]>([]))

        init?(_ pass: Pass, _ problem: Problem, _ engine: dnnl_engine_t) {
            guard let pd = problem.descriptor(pass, engine) else { return nil }
            var primitive: dnnl_primitive_t?
            guard dnnl_primitive_create(&primitive, pd) == dnnl_success, let primitive else {
                dnnl_primitive_desc_destroy(pd)
                return nil
            }
            self.pass = pass
            self.engine = engine
            self.problem = problem
            descriptor = pd
            self.primitive = primitive
            scratchpad = Self.scratchpad(of: pd)
            var user = problem.userWeights
            userWeights = user
            let query = pass == .backwardWeights ? dnnl_query_diff_weights_md : dnnl_query_weights_md
            guard let wanted = dnnl_primitive_desc_query_md(pd, query, 0), dnnl_memory_desc_equal(wanted, &user) == 0
            else {
                weightLayout = nil; reorder = nil; reorderDescriptor = nil; reorderScratchpad = nil
                return
            }
            var layout = wanted.pointee
            weightLayout = layout
            var rpd: dnnl_primitive_desc_t?
            let attributes = Attributes(cap: nil)
            let status =
                pass == .backwardWeights
                ? dnnl_reorder_primitive_desc_create(&rpd, &layout, engine, &user, engine, attributes?.handle)
                : dnnl_reorder_primitive_desc_create(&rpd, &user, engine, &layout, engine, attributes?.handle)
            var r: dnnl_primitive_t?
            if attributes != nil, status == dnnl_success, let rpd, dnnl_primitive_create(&r, rpd) == dnnl_success {
                reorderDescriptor = rpd; reorder = r
                reorderScratchpad = Self.scratchpad(of: rpd)
            } else {
                if let rpd { dnnl_primitive_desc_destroy(rpd) }
                dnnl_primitive_destroy(primitive)
                dnnl_primitive_desc_destroy(pd)
                return nil
            }
        }

        private static func scratchpad(of descriptor: dnnl_primitive_desc_t) -> dnnl_memory_desc_t? {
            guard let md = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0),
                dnnl_memory_desc_get_size(md) > 0
            else { return nil }
            return md.pointee
        }

        deinit {
            if let reorder { dnnl_primitive_destroy(reorder) }
            if let reorderDescriptor { dnnl_primitive_desc_destroy(reorderDescriptor) }
            dnnl_primitive_destroy(primitive)
            dnnl_primitive_desc_destroy(descriptor)
        }

        /// Runs `body` with a binding no other call uses meanwhile (made on first need: one
        /// per concurrent call), then waits for the stream and gives back pooled buffers; false
        /// when oneDNN failed.
        func run(_ body: (Binding) throws(Failure) -> Void) -> Bool {
            guard let binding = idle.withLock({ $0.value.popLast() }) ?? Binding(self) else { return false }
            defer {
                binding.release()
                idle.withLock { $0.value.append(binding) }
            }
            do {
                try body(binding)
                return dnnl_stream_wait(binding.stream) == dnnl_success
            } catch {
                return false
            }
        }
    }

    /// The stream and memory objects of one plan's calls, made once: a call points them at its
    /// buffers (`dnnl_memory_set_data_handle`) instead of creating objects, the fixed cost that
    /// dominated a batch-1 inference. `input` is the source (or its gradient), `output` the
    /// destination (or its gradient), `kernel` the Keras kernel (or its gradient).
    final class Binding {
        /// Unowned: the plan keeps its idle bindings, and a binding is only used inside its
        /// plan's `run`.
        unowned let plan: Plan
        /// The plan's primitive and pass, kept here so that a call reads no field of `plan`
        /// (each read of an unowned reference retains and releases it).
        private let primitive: dnnl_primitive_t
        private let pass: Pass
        let stream: dnnl_stream_t
        let input: dnnl_memory_t, output: dnnl_memory_t, kernel: dnnl_memory_t
        let kernelInLayout: dnnl_memory_t?
        let bias: dnnl_memory_t?
        let scratchpad: dnnl_memory_t?, reorderScratchpad: dnnl_memory_t?
        /// The primitive's arguments, over the objects above.
        private let arguments: [dnnl_exec_arg_t]
        /// The scratchpad, when it is small enough to keep (`ownedScratchpadBytes`); larger
        /// ones come from the pool for the length of a call.
        private let ownedScratchpad: UnsafeMutableRawPointer?
        /// Pooled buffers this call uses, given back by `release`.
        private var borrowed: [(UnsafeMutableRawPointer, Int)] = []
        /// The cached kernel `kernelInLayout` points at since the last call, kept: while it
        /// holds its kernel tensor that tensor's buffer can be neither freed nor written in
        /// place (copy on write), so a call with a kernel at the same address reads the same
        /// values and skips the cache (its lock and lookup) and the re-pointing. Such an entry
        /// outlives a cache that starts over: up to one kernel per binding beyond the cache's
        /// `maximumBytes`.
        private var lastEntry: KernelLayoutCache.Entry?

        init?(_ plan: Plan) {
            var stream: dnnl_stream_t?
            guard dnnl_stream_create(&stream, plan.engine, dnnl_stream_default_flags.rawValue) == dnnl_success,
                let stream
            else { return nil }
            self.plan = plan
            primitive = plan.primitive
            pass = plan.pass
            self.stream = stream
            let problem = plan.problem
            var made: [dnnl_memory_t] = []
            func memory(_ descriptor: dnnl_memory_desc_t) -> dnnl_memory_t? {
                var d = descriptor
                var m: dnnl_memory_t?
                guard dnnl_memory_create(&m, &d, plan.engine, nil) == dnnl_success, let m else { return nil }
                made.append(m)
                return m
            }
            let biased: Bool = if case .forward(let b, _) = plan.pass { b } else { false }
            guard let input = memory(problem.source), let output = memory(problem.destination),
                let kernel = memory(plan.userWeights)
            else {
                made.forEach { dnnl_memory_destroy($0) }
                dnnl_stream_destroy(stream)
                return nil
            }
            let kernelInLayout = plan.weightLayout.flatMap(memory)
            let bias = biased ? memory(problem.bias) : nil
            let scratchpad = plan.scratchpad.flatMap(memory)
            let reorderScratchpad = plan.reorderScratchpad.flatMap(memory)
            guard (plan.weightLayout == nil) == (kernelInLayout == nil), biased == (bias != nil),
                (plan.scratchpad == nil) == (scratchpad == nil),
                (plan.reorderScratchpad == nil) == (reorderScratchpad == nil)
            else {
                made.forEach { dnnl_memory_destroy($0) }
                dnnl_stream_destroy(stream)
                return nil
            }
            self.input = input
            self.output = output
            self.kernel = kernel
            self.kernelInLayout = kernelInLayout
            self.bias = bias
            self.scratchpad = scratchpad
            self.reorderScratchpad = reorderScratchpad
            var owned: UnsafeMutableRawPointer?
            if let scratchpad, var descriptor = plan.scratchpad {
                let bytes = dnnl_memory_desc_get_size(&descriptor)
                if bytes <= Binding.ownedScratchpadBytes {
                    let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
                    if dnnl_memory_set_data_handle(scratchpad, buffer) == dnnl_success {
                        owned = buffer
                    } else {
                        buffer.deallocate()
                    }
                }
            }
            ownedScratchpad = owned
            let weights = kernelInLayout ?? kernel
            var arguments: [(Int32, dnnl_memory_t)]
            switch plan.pass {
            case .forward:
                arguments = [(DNNL_ARG_SRC, input), (DNNL_ARG_WEIGHTS, weights), (DNNL_ARG_DST, output)]
                if let bias { arguments.append((DNNL_ARG_BIAS, bias)) }
            case .backwardData:
                arguments = [(DNNL_ARG_DIFF_DST, output), (DNNL_ARG_WEIGHTS, weights), (DNNL_ARG_DIFF_SRC, input)]
            case .backwardWeights:
                arguments = [(DNNL_ARG_SRC, input), (DNNL_ARG_DIFF_DST, output), (DNNL_ARG_DIFF_WEIGHTS, weights)]
            }
            if let scratchpad { arguments.append((DNNL_ARG_SCRATCHPAD, scratchpad)) }
            self.arguments = arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }
        }

        deinit {
            for m in [input, output, kernel] + [kernelInLayout, bias, scratchpad, reorderScratchpad].compactMap({ $0 })
            {
                dnnl_memory_destroy(m)
            }
            dnnl_stream_destroy(stream)
            ownedScratchpad?.deallocate()
        }

        /// The largest scratchpad a binding keeps for all its calls (a forward convolution's
        /// usually is); a plan has a binding per concurrent call.
        static let ownedScratchpadBytes = 256 << 10

        /// Points `memory` at `pointer` for this call.
        func point(_ memory: dnnl_memory_t, at pointer: UnsafeRawPointer) throws(Failure) {
            guard dnnl_memory_set_data_handle(memory, UnsafeMutableRawPointer(mutating: pointer)) == dnnl_success
            else { throw Failure() }
        }

        /// Points `memory` at a pooled buffer of its size, given back at the end of the call.
        private func pointAtPooledBuffer(_ memory: dnnl_memory_t, _ descriptor: dnnl_memory_desc_t) throws(Failure) {
            var d = descriptor
            let bytes = dnnl_memory_desc_get_size(&d)
            let buffer = ScratchBuffers.shared.take(bytes)
            borrowed.append((buffer, bytes))
            try point(memory, at: buffer)
        }

        /// The Keras kernel of `source` as the primitive reads it: the buffer itself, a
        /// reordered copy, or the copy `cache` holds for `tensor` (made on first use). A paired
        /// source is built (into a pooled buffer) only when it is read: not on a cache hit.
        func setKernel(_ source: KernelSource, of tensor: Tensor, cache: KernelLayoutCache?) throws(Failure) {
            guard let kernelInLayout, let layout = plan.weightLayout, let reorder = plan.reorder else {
                try point(kernel, at: materialized(source))
                return
            }
            if let cache {
                if let lastEntry, lastEntry.isMade(from: tensor) { return }
                lastEntry = nil
                let entry = try cache.entry(for: tensor, layout: layout) { (buffer) throws(Failure) in
                    try point(kernel, at: materialized(source))
                    try point(kernelInLayout, at: buffer)
                    try execute(reorder, [(DNNL_ARG_FROM, kernel), (DNNL_ARG_TO, kernelInLayout)])
                    guard dnnl_stream_wait(stream) == dnnl_success else { throw Failure() }
                }
                try point(kernelInLayout, at: entry.buffer)
                lastEntry = entry
            } else {
                lastEntry = nil
                try point(kernel, at: materialized(source))
                try pointAtPooledBuffer(kernelInLayout, layout)
                try execute(reorder, [(DNNL_ARG_FROM, kernel), (DNNL_ARG_TO, kernelInLayout)])
            }
        }

        /// The Keras kernel's address: the caller's buffer, or a pooled one holding the paired form.
        private func materialized(_ source: KernelSource) -> UnsafeRawPointer {
            switch source {
            case .keras(let pointer):
                return UnsafeRawPointer(pointer)
            case .paired(let pairs, let kernel):
                let count = pairs.kernelCount
                let buffer = ScratchBuffers.shared.take(count * MemoryLayout<Float>.stride)
                borrowed.append((buffer, count * MemoryLayout<Float>.stride))
                let floats = buffer.bindMemory(to: Float.self, capacity: count)
                pairs.writeKernel(kernel, into: UnsafeMutableBufferPointer(start: floats, count: count))
                return UnsafeRawPointer(buffer)
            }
        }

        /// Runs the primitive, then (backward weights) brings the kernel gradient from the
        /// primitive's layout into the user's buffer that `setKernelGradient` named.
        func execute() throws(Failure) {
            if ownedScratchpad == nil, let scratchpad, let descriptor = plan.scratchpad {
                try pointAtPooledBuffer(scratchpad, descriptor)
            }
            guard dnnl_primitive_execute(primitive, stream, Int32(arguments.count), arguments) == dnnl_success
            else { throw Failure() }
            if pass == .backwardWeights, let kernelInLayout, let reorder = plan.reorder {
                try execute(reorder, [(DNNL_ARG_FROM, kernelInLayout), (DNNL_ARG_TO, kernel)])
            }
        }

        /// The kernel gradient's user buffer (backward weights): written directly, or through a
        /// pooled buffer in the primitive's layout that `execute` reorders from.
        func setKernelGradient(_ pointer: UnsafeMutablePointer<Float>) throws(Failure) {
            try point(kernel, at: pointer)
            lastEntry = nil
            if let kernelInLayout, let layout = plan.weightLayout { try pointAtPooledBuffer(kernelInLayout, layout) }
        }

        private func execute(_ reorder: dnnl_primitive_t, _ arguments: [(Int32, dnnl_memory_t)]) throws(Failure) {
            var args = arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }
            if let reorderScratchpad, let descriptor = plan.reorderScratchpad {
                try pointAtPooledBuffer(reorderScratchpad, descriptor)
                args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: reorderScratchpad))
            }
            guard dnnl_primitive_execute(reorder, stream, Int32(args.count), args) == dnnl_success else {
                throw Failure()
            }
        }

        /// Gives back what the call borrowed.
        func release() {
            guard !borrowed.isEmpty else { return }
            for (buffer, bytes) in borrowed { ScratchBuffers.shared.give(buffer, bytes) }
            borrowed.removeAll(keepingCapacity: true)
        }
    }
}
