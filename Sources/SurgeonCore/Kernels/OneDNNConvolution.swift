import CDNNL

/// Convolution through oneDNN (Debian's libdnnl, the library PyTorch uses for CPU convolutions):
/// forward, gradient of the input and gradient of the kernel, on surgeon's own buffers.
///
/// Activations stay NHWC (oneDNN's `nhwc`) so nothing is copied around the call; the Keras
/// kernel `[kh, kw, in / groups, out]` is described by its strides and reordered into the layout
/// the primitive prefers (and a kernel gradient back out of it), which costs a pass over the
/// weights only. Groups, depthwise (groups = channels, the multiplier as outputs per group),
/// strides, dilation and TensorFlow's 'same' padding map onto oneDNN's descriptors directly.
/// oneDNN chooses its kernels for the CPU it runs on (AVX2, AVX-512...) when the primitive is
/// created, so the binary runs on any x86-64.
///
/// Every function returns nil when oneDNN cannot do the job (no engine, a status other than
/// success); `Convolution` and `DepthwiseConvolution` then take their own path. oneDNN runs on
/// OpenMP threads, `Compute.threads` of them, with subnormals flushed on each.
enum OneDNNConvolution {
    /// The CPU engine, created once; nil when oneDNN cannot make one.
    private static let engine: UncheckedSendable<dnnl_engine_t?> = {
        var engine: dnnl_engine_t?
        guard dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success else { return UncheckedSendable(nil) }
        return UncheckedSendable(engine)
    }()

    /// True when oneDNN made an engine on this machine.
    static var isAvailable: Bool { engine.value != nil }

    /// `output[n, oy, ox, f]` as `Convolution.forward` defines it.
    static func forward(
        input: Tensor, kernel: Tensor, geometry g: ConvGeometry, groups: Int, depthwise: Bool
    )
        -> Tensor?
    {
        guard let engine = engine.value,
            var p = Problem(input: input, kernel: kernel, geometry: g, groups: groups, depthwise: depthwise),
            let forward = p.forwardDescriptor(engine)
        else { return nil }
        defer { dnnl_primitive_desc_destroy(forward) }
        var ok = false
        let output = Tensor(shape: p.outputShape) { y in
            ok = input.scalars.withUnsafeBufferPointer { x in
                kernel.scalars.withUnsafeBufferPointer { w in
                    Execution(engine: engine).run { (run: Execution) throws(Failure) in
                        let weights = try run.weights(w.baseAddress!, user: &p.userWeights, for: forward)
                        try run.execute(
                            forward,
                            [
                                (DNNL_ARG_SRC, try run.memory(&p.source, x.baseAddress!)),
                                (DNNL_ARG_WEIGHTS, weights),
                                (DNNL_ARG_DST, try run.memory(&p.destination, y.baseAddress!)),
                            ])
                    }
                }
            }
        }
        return ok ? output : nil
    }

    /// dLoss/dInput (when `wantInput`) and dLoss/dKernel, as `Convolution.backward` defines them.
    static func backward(
        outputGradient dy: Tensor, input: Tensor, kernel: Tensor, geometry g: ConvGeometry, groups: Int,
        depthwise: Bool, inputGradient wantInput: Bool
    ) -> (input: Tensor?, kernel: Tensor)? {
        guard let engine = engine.value,
            var p = Problem(input: input, kernel: kernel, geometry: g, groups: groups, depthwise: depthwise),
            dy.shape == p.outputShape, let forward = p.forwardDescriptor(engine)
        else { return nil }
        defer { dnnl_primitive_desc_destroy(forward) }
        guard let weightsPass = p.backwardWeightsDescriptor(engine, hint: forward) else { return nil }
        defer { dnnl_primitive_desc_destroy(weightsPass) }
        var dataPass: dnnl_primitive_desc_t?
        if wantInput {
            guard let d = p.backwardDataDescriptor(engine, hint: forward) else { return nil }
            dataPass = d
        }
        defer { if let dataPass { dnnl_primitive_desc_destroy(dataPass) } }
        var ok = false
        var dx: Tensor?
        // Both gradients are written whole by oneDNN, so their buffers start uninitialised.
        let dw = Tensor(shape: kernel.shape) { gw in
            let inputGradient = Tensor(shape: wantInput ? input.shape : [0]) { gx in
                ok = input.scalars.withUnsafeBufferPointer { x in
                    kernel.scalars.withUnsafeBufferPointer { w in
                        dy.scalars.withUnsafeBufferPointer { gy in
                            Execution(engine: engine).run { (run: Execution) throws(Failure) in
                                let gradient = try run.memory(&p.destination, gy.baseAddress!)
                                let diffWeights = try run.gradientWeights(
                                    gw.baseAddress!, user: &p.userWeights, for: weightsPass)
                                try run.execute(
                                    weightsPass,
                                    [
                                        (DNNL_ARG_SRC, try run.memory(&p.source, x.baseAddress!)),
                                        (DNNL_ARG_DIFF_DST, gradient),
                                        (DNNL_ARG_DIFF_WEIGHTS, diffWeights.memory),
                                    ])
                                try diffWeights.finish()
                                if let dataPass {
                                    let weights = try run.weights(w.baseAddress!, user: &p.userWeights, for: dataPass)
                                    try run.execute(
                                        dataPass,
                                        [
                                            (DNNL_ARG_DIFF_DST, gradient),
                                            (DNNL_ARG_WEIGHTS, weights),
                                            (DNNL_ARG_DIFF_SRC, try run.memory(&p.source, gx.baseAddress!)),
                                        ])
                                }
                            }
                        }
                    }
                }
            }
            if wantInput { dx = inputGradient }
        }
        return ok ? (dx, dw) : nil
    }

    /// The descriptors of one convolution: NHWC activations, the Keras kernel by its strides,
    /// and the window arithmetic in oneDNN's terms.
    private struct Problem {
        var source = dnnl_memory_desc_t()
        var destination = dnnl_memory_desc_t()
        var userWeights = dnnl_memory_desc_t()
        var anyWeights = dnnl_memory_desc_t()
        var strides: [dnnl_dim_t], dilation: [dnnl_dim_t], padBefore: [dnnl_dim_t], padAfter: [dnnl_dim_t]
        let outputShape: [Int]

        /// `depthwise`: the kernel is `[kh, kw, in, multiplier]`, one group per input channel
        /// (`groups` is ignored).
        init?(input: Tensor, kernel: Tensor, geometry g: ConvGeometry, groups: Int, depthwise: Bool) {
            guard input.rank == 4, kernel.rank == 4 else { return nil }
            let n = input.shape[0], c = input.shape[3]
            let kh = g.kernelHeight, kw = g.kernelWidth
            let groups = depthwise ? c : groups
            let outputs = depthwise ? c * kernel.shape[3] : kernel.shape[3]
            let cg = depthwise ? 1 : kernel.shape[2]
            guard n > 0, groups >= 1, outputs > 0, c == cg * groups, outputs % groups == 0, kernel.shape[0] == kh,
                kernel.shape[1] == kw, input.shape[1] == g.inputHeight, input.shape[2] == g.inputWidth
            else { return nil }
            let fg = outputs / groups
            outputShape = [n, g.outputHeight, g.outputWidth, outputs]
            let effH = (kh - 1) * g.dilationHeight + 1, effW = (kw - 1) * g.dilationWidth + 1
            let bottom = max(0, (g.outputHeight - 1) * g.strideHeight + effH - g.inputHeight - g.padTop)
            let right = max(0, (g.outputWidth - 1) * g.strideWidth + effW - g.inputWidth - g.padLeft)
            strides = [g.strideHeight, g.strideWidth].map { dnnl_dim_t($0) }
            dilation = [g.dilationHeight - 1, g.dilationWidth - 1].map { dnnl_dim_t($0) }
            padBefore = [g.padTop, g.padLeft].map { dnnl_dim_t($0) }
            padAfter = [bottom, right].map { dnnl_dim_t($0) }
            let sourceDims: [dnnl_dim_t] = [n, c, g.inputHeight, g.inputWidth].map { dnnl_dim_t($0) }
            let destinationDims: [dnnl_dim_t] = [n, outputs, g.outputHeight, g.outputWidth].map { dnnl_dim_t($0) }
            guard dnnl_memory_desc_init_by_tag(&source, 4, sourceDims, dnnl_f32, dnnl_nhwc) == dnnl_success,
                dnnl_memory_desc_init_by_tag(&destination, 4, destinationDims, dnnl_f32, dnnl_nhwc) == dnnl_success
            else { return nil }
            // Keras's kernel element (group, j, i, y, x) sits at ((y * kw + x) * cg + i) * outputs + group * fg + j.
            let weightDims: [dnnl_dim_t], weightStrides: [dnnl_dim_t]
            if groups == 1 {
                weightDims = [outputs, cg, kh, kw].map { dnnl_dim_t($0) }
                weightStrides = [1, outputs, kw * cg * outputs, cg * outputs].map { dnnl_dim_t($0) }
            } else {
                weightDims = [groups, fg, cg, kh, kw].map { dnnl_dim_t($0) }
                weightStrides = [fg, 1, outputs, kw * cg * outputs, cg * outputs].map { dnnl_dim_t($0) }
            }
            let rank = Int32(weightDims.count)
            guard
                dnnl_memory_desc_init_by_strides(&userWeights, rank, weightDims, dnnl_f32, weightStrides)
                    == dnnl_success,
                dnnl_memory_desc_init_by_tag(&anyWeights, rank, weightDims, dnnl_f32, dnnl_format_tag_any)
                    == dnnl_success
            else { return nil }
        }

        mutating func forwardDescriptor(_ engine: dnnl_engine_t) -> dnnl_primitive_desc_t? {
            var op = dnnl_convolution_desc_t()
            guard
                dnnl_dilated_convolution_forward_desc_init(
                    &op, dnnl_forward_training, dnnl_convolution_direct, &source, &anyWeights, nil, &destination,
                    strides, dilation, padBefore, padAfter) == dnnl_success
            else { return nil }
            return Self.primitiveDescriptor(&op, engine, hint: nil)
        }

        mutating func backwardDataDescriptor(
            _ engine: dnnl_engine_t, hint: dnnl_primitive_desc_t
        )
            -> dnnl_primitive_desc_t?
        {
            var op = dnnl_convolution_desc_t()
            guard
                dnnl_dilated_convolution_backward_data_desc_init(
                    &op, dnnl_convolution_direct, &source, &anyWeights, &destination, strides, dilation, padBefore,
                    padAfter) == dnnl_success
            else { return nil }
            return Self.primitiveDescriptor(&op, engine, hint: hint)
        }

        mutating func backwardWeightsDescriptor(
            _ engine: dnnl_engine_t, hint: dnnl_primitive_desc_t
        )
            -> dnnl_primitive_desc_t?
        {
            var op = dnnl_convolution_desc_t()
            guard
                dnnl_dilated_convolution_backward_weights_desc_init(
                    &op, dnnl_convolution_direct, &source, &anyWeights, nil, &destination, strides, dilation,
                    padBefore, padAfter) == dnnl_success
            else { return nil }
            return Self.primitiveDescriptor(&op, engine, hint: hint)
        }

        private static func primitiveDescriptor(
            _ op: inout dnnl_convolution_desc_t, _ engine: dnnl_engine_t, hint: dnnl_primitive_desc_t?
        ) -> dnnl_primitive_desc_t? {
            var pd: dnnl_primitive_desc_t?
            guard dnnl_primitive_desc_create(&pd, &op, nil, engine, hint) == dnnl_success else { return nil }
            return pd
        }
    }

    /// A oneDNN failure inside an `Execution`; the caller falls back to its own path.
    private struct Failure: Error {}

    /// The objects of one call (stream, memories, primitives), destroyed together at its end.
    private final class Execution {
        let engine: dnnl_engine_t
        private var stream: dnnl_stream_t?
        private var memories: [dnnl_memory_t] = []
        private var primitives: [dnnl_primitive_t] = []
        private var descriptors: [dnnl_primitive_desc_t] = []

        init(engine: dnnl_engine_t) { self.engine = engine }

        deinit {
            for p in primitives { dnnl_primitive_destroy(p) }
            for d in descriptors { dnnl_primitive_desc_destroy(d) }
            for m in memories { dnnl_memory_destroy(m) }
            if let stream { dnnl_stream_destroy(stream) }
        }

        /// Runs `body` on `Compute.threads` OpenMP threads with subnormals flushed; false when
        /// oneDNN failed.
        func run(_ body: (Execution) throws(Failure) -> Void) -> Bool {
            let threads = Int32(Compute.threads)
            Compute.flushSubnormals()
            omp_set_num_threads(threads)
            surgeon_omp_each_thread({ _ in Compute.flushSubnormals() }, threads)
            guard dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success else {
                return false
            }
            do {
                try body(self)
                return dnnl_stream_wait(stream) == dnnl_success
            } catch {
                return false
            }
        }

        /// A memory object over `pointer`, described by `descriptor`.
        func memory(
            _ descriptor: inout dnnl_memory_desc_t, _ pointer: UnsafeRawPointer
        ) throws(Failure)
            -> dnnl_memory_t
        {
            try memory(&descriptor, handle: UnsafeMutableRawPointer(mutating: pointer))
        }

        private func memory(
            _ descriptor: UnsafePointer<dnnl_memory_desc_t>, handle: UnsafeMutableRawPointer?
        )
            throws(Failure) -> dnnl_memory_t
        {
            var m: dnnl_memory_t?
            guard dnnl_memory_create(&m, descriptor, engine, handle) == dnnl_success, let m else { throw Failure() }
            memories.append(m)
            return m
        }

        /// The user's kernel in the layout `pd` wants: the buffer itself, or a reordered copy.
        func weights(
            _ pointer: UnsafePointer<Float>, user: inout dnnl_memory_desc_t, for pd: dnnl_primitive_desc_t
        )
            throws(Failure) -> dnnl_memory_t
        {
            let source = try memory(&user, pointer)
            guard let wanted = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0) else { throw Failure() }
            if dnnl_memory_desc_equal(wanted, &user) != 0 { return source }
            let target = try memory(wanted, handle: surgeon_dnnl_allocate())
            try reorder(from: source, &user, to: target, wanted)
            return target
        }

        /// A kernel-gradient memory in the layout `pd` writes, and `finish` to bring it into
        /// the user's buffer.
        func gradientWeights(
            _ pointer: UnsafeMutablePointer<Float>, user: inout dnnl_memory_desc_t, for pd: dnnl_primitive_desc_t
        ) throws(Failure) -> (memory: dnnl_memory_t, finish: () throws(Failure) -> Void) {
            let destination = try memory(&user, pointer)
            guard let written = dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0) else {
                throw Failure()
            }
            if dnnl_memory_desc_equal(written, &user) != 0 { return (destination, {}) }
            let scratch = try memory(written, handle: surgeon_dnnl_allocate())
            let userDescriptor = user
            return (
                scratch,
                { () throws(Failure) in
                    var u = userDescriptor
                    try self.reorder(from: scratch, written, to: destination, &u)
                }
            )
        }

        private func reorder(
            from source: dnnl_memory_t, _ sourceDescriptor: UnsafePointer<dnnl_memory_desc_t>,
            to target: dnnl_memory_t, _ targetDescriptor: UnsafePointer<dnnl_memory_desc_t>
        ) throws(Failure) {
            var pd: dnnl_primitive_desc_t?
            guard
                dnnl_reorder_primitive_desc_create(&pd, sourceDescriptor, engine, targetDescriptor, engine, nil)
                    == dnnl_success, let pd
            else { throw Failure() }
            descriptors.append(pd)
            try execute(pd, [(DNNL_ARG_FROM, source), (DNNL_ARG_TO, target)])
        }

        /// Creates the primitive of `pd` and runs it on `arguments`.
        func execute(_ pd: dnnl_primitive_desc_t, _ arguments: [(Int32, dnnl_memory_t)]) throws(Failure) {
            var primitive: dnnl_primitive_t?
            guard dnnl_primitive_create(&primitive, pd) == dnnl_success, let primitive else { throw Failure() }
            primitives.append(primitive)
            let args = arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }
            guard dnnl_primitive_execute(primitive, stream, Int32(args.count), args) == dnnl_success else {
                throw Failure()
            }
        }
    }
}
