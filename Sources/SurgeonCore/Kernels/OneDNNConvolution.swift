import CDNNL
import Synchronization

/// Convolution through oneDNN (Debian's libdnnl, the library PyTorch uses for CPU convolutions):
/// forward (with a fused bias and rectifier for inference), gradient of the input and gradient
/// of the kernel, on surgeon's own buffers.
///
/// Activations stay NHWC (oneDNN's `nhwc`) so nothing is copied around the call; the Keras
/// kernel `[kh, kw, in / groups, out]` is described by its strides and reordered into the layout
/// the primitive prefers (and a kernel gradient back out of it), a pass over the weights only.
/// Groups, depthwise (groups = channels, the multiplier as outputs per group), strides, dilation
/// and TensorFlow's 'same' padding map onto oneDNN's descriptors directly. oneDNN picks its
/// kernels for the CPU it runs on (AVX2, AVX-512...) when a primitive is created, so the binary
/// runs on any x86-64.
///
/// Primitives are made once per problem (shapes, pass, epilogue) and kept in a bounded cache:
/// creating one costs more than running a small convolution. Every function returns nil when
/// oneDNN cannot do the job (no engine, a status other than success); `Convolution` and
/// `DepthwiseConvolution` then take their own path. oneDNN runs on the OpenMP team of the
/// calling thread, `Compute.threads` strong (fewer for a small convolution, `enterTeam`); a
/// primitive is made for a thread count, which is part of its key. The team's threads flush subnormals: they are started by a thread that
/// does, and inherit its floating-point control bits.
enum OneDNNConvolution {
    /// The CPU engine, created once; nil when oneDNN cannot make one.
    private static let engine: UncheckedSendable<dnnl_engine_t?> = {
        var engine: dnnl_engine_t?
        guard dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success else { return UncheckedSendable(nil) }
        return UncheckedSendable(engine)
    }()

    /// True when oneDNN made an engine on this machine.
    static var isAvailable: Bool { engine.value != nil }

    /// `output[n, oy, ox, f]` as `Convolution.forward` defines it, then `epilogue` when given.
    static func forward(
        input: Tensor, kernel: Tensor, geometry g: ConvGeometry, groups: Int, depthwise: Bool,
        epilogue: ConvolutionEpilogue? = nil
    ) -> Tensor? {
        guard let engine = engine.value,
            let problem = Problem(input: input, kernel: kernel, geometry: g, groups: groups, depthwise: depthwise),
            epilogue?.bias.map({ $0.count == problem.outputShape[3] }) ?? true
        else { return nil }
        let threads = enterTeam(for: problem)
        guard
            let plan = plan(
                .forward(bias: epilogue?.bias != nil, cap: epilogue?.rectifierCap), problem, threads, engine)
        else { return nil }
        var ok = false
        let output = Tensor(shape: problem.outputShape) { y in
            ok = input.scalars.withUnsafeBufferPointer { x in
                kernel.scalars.withUnsafeBufferPointer { w in
                    (epilogue?.bias?.scalars ?? []).withUnsafeBufferPointer { b in
                        Execution(engine: engine).run { (run: Execution) throws(Failure) in
                            var arguments = [
                                (DNNL_ARG_SRC, try run.memory(problem.source, x.baseAddress!)),
                                (DNNL_ARG_WEIGHTS, try run.weights(w.baseAddress!, plan)),
                                (DNNL_ARG_DST, try run.memory(problem.destination, y.baseAddress!)),
                            ]
                            if let bias = b.baseAddress {
                                arguments.append((DNNL_ARG_BIAS, try run.memory(problem.bias, bias)))
                            }
                            try run.execute(plan.primitive, plan.descriptor, arguments)
                        }
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
            let problem = Problem(input: input, kernel: kernel, geometry: g, groups: groups, depthwise: depthwise),
            dy.shape == problem.outputShape
        else { return nil }
        let threads = enterTeam(for: problem)
        guard let weightsPlan = plan(.backwardWeights, problem, threads, engine) else { return nil }
        var dataPlan: Plan?
        if wantInput {
            guard let p = plan(.backwardData, problem, threads, engine) else { return nil }
            dataPlan = p
        }
        var ok = false
        var dx: Tensor?
        // Both gradients are written whole by oneDNN, so their buffers start uninitialised.
        let dw = Tensor(shape: kernel.shape) { gw in
            let inputGradient = Tensor(shape: wantInput ? input.shape : [0]) { gx in
                ok = input.scalars.withUnsafeBufferPointer { x in
                    kernel.scalars.withUnsafeBufferPointer { w in
                        dy.scalars.withUnsafeBufferPointer { gy in
                            Execution(engine: engine).run { (run: Execution) throws(Failure) in
                                let gradient = try run.memory(problem.destination, gy.baseAddress!)
                                try run.gradientWeights(gw.baseAddress!, weightsPlan) { diffWeights throws(Failure) in
                                    try run.execute(
                                        weightsPlan.primitive, weightsPlan.descriptor,
                                        [
                                            (DNNL_ARG_SRC, try run.memory(problem.source, x.baseAddress!)),
                                            (DNNL_ARG_DIFF_DST, gradient),
                                            (DNNL_ARG_DIFF_WEIGHTS, diffWeights),
                                        ])
                                }
                                if let dataPlan {
                                    try run.execute(
                                        dataPlan.primitive, dataPlan.descriptor,
                                        [
                                            (DNNL_ARG_DIFF_DST, gradient),
                                            (DNNL_ARG_WEIGHTS, try run.weights(w.baseAddress!, dataPlan)),
                                            (DNNL_ARG_DIFF_SRC, try run.memory(problem.source, gx.baseAddress!)),
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

    // MARK: - Problems and their primitives

    /// Which primitive of a convolution.
    enum Pass: Hashable {
        /// Forward, with a bias argument when `bias` and a rectifier post-op when `cap` is set.
        case forward(bias: Bool, cap: Float?)
        case backwardData
        case backwardWeights
    }

    /// The descriptors of one convolution: NHWC activations, the Keras kernel by its strides,
    /// and the window arithmetic in oneDNN's terms. Equal problems share primitives.
    struct Problem: Hashable {
        let outputShape: [Int]
        let sourceDims: [dnnl_dim_t], destinationDims: [dnnl_dim_t]
        let weightDims: [dnnl_dim_t], weightStrides: [dnnl_dim_t]
        let strides: [dnnl_dim_t], dilation: [dnnl_dim_t], padBefore: [dnnl_dim_t], padAfter: [dnnl_dim_t]

        /// `depthwise`: the kernel is `[kh, kw, in, multiplier]`, one group per input channel
        /// (`groups` is ignored).
        init?(input: Tensor, kernel: Tensor, geometry g: ConvGeometry, groups: Int, depthwise: Bool) {
            guard input.rank == 4, kernel.rank == 4 else { return nil }
            let n = input.shape[0], c = input.shape[3]
            let kh = g.kernelHeight, kw = g.kernelWidth
            let groups = depthwise ? c : groups
            let outputs = depthwise ? c * kernel.shape[3] : kernel.shape[3]
            let cg = depthwise ? 1 : kernel.shape[2]
            guard n > 0, c > 0, groups >= 1, outputs > 0, kernel.count > 0, c == cg * groups, outputs % groups == 0,
                kernel.shape[0] == kh,
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
            sourceDims = [n, c, g.inputHeight, g.inputWidth].map { dnnl_dim_t($0) }
            destinationDims = [n, outputs, g.outputHeight, g.outputWidth].map { dnnl_dim_t($0) }
            // Keras's kernel element (group, j, i, y, x) sits at ((y * kw + x) * cg + i) * outputs + group * fg + j.
            if groups == 1 {
                weightDims = [outputs, cg, kh, kw].map { dnnl_dim_t($0) }
                weightStrides = [1, outputs, kw * cg * outputs, cg * outputs].map { dnnl_dim_t($0) }
            } else {
                weightDims = [groups, fg, cg, kh, kw].map { dnnl_dim_t($0) }
                weightStrides = [fg, 1, outputs, kw * cg * outputs, cg * outputs].map { dnnl_dim_t($0) }
            }
        }

        /// Multiply-accumulates of the whole batch.
        var macs: Int {
            let perOutput = weightDims.suffix(3).reduce(1, { $0 * Int($1) })  // in / groups * kh * kw
            return destinationDims.reduce(1, { $0 * Int($1) }) * perOutput
        }

        var source: dnnl_memory_desc_t { Self.nhwc(sourceDims) }
        var destination: dnnl_memory_desc_t { Self.nhwc(destinationDims) }
        var bias: dnnl_memory_desc_t {
            var md = dnnl_memory_desc_t()
            dnnl_memory_desc_init_by_tag(&md, 1, [destinationDims[1]], dnnl_f32, dnnl_a)
            return md
        }
        var userWeights: dnnl_memory_desc_t {
            var md = dnnl_memory_desc_t()
            dnnl_memory_desc_init_by_strides(&md, Int32(weightDims.count), weightDims, dnnl_f32, weightStrides)
            return md
        }
        var anyWeights: dnnl_memory_desc_t {
            var md = dnnl_memory_desc_t()
            dnnl_memory_desc_init_by_tag(&md, Int32(weightDims.count), weightDims, dnnl_f32, dnnl_format_tag_any)
            return md
        }

        private static func nhwc(_ dims: [dnnl_dim_t]) -> dnnl_memory_desc_t {
            var md = dnnl_memory_desc_t()
            dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_nhwc)
            return md
        }

        /// The primitive descriptor of `pass` (nil when oneDNN refuses the problem), with a
        /// scratchpad the caller provides (so that one primitive may run on several threads).
        func descriptor(_ pass: Pass, _ engine: dnnl_engine_t) -> dnnl_primitive_desc_t? {
            var source = source, destination = destination, weights = anyWeights, bias = bias
            var op = dnnl_convolution_desc_t()
            guard let attributes = Attributes(cap: { if case .forward(_, let cap) = pass { cap } else { nil } }())
            else { return nil }
            switch pass {
            case .forward(let biased, let cap):
                let kind = dnnl_forward_training
                let status = withUnsafePointer(to: &bias) { biasDescriptor in
                    dnnl_dilated_convolution_forward_desc_init(
                        &op, kind, dnnl_convolution_direct, &source, &weights, biased ? biasDescriptor : nil,
                        &destination, strides, dilation, padBefore, padAfter)
                }
                guard status == dnnl_success else { return nil }
                return Self.create(&op, engine, attributes, hint: nil)
            case .backwardData, .backwardWeights:
                guard let forward = descriptor(.forward(bias: false, cap: nil), engine) else { return nil }
                defer { dnnl_primitive_desc_destroy(forward) }
                let status =
                    pass == .backwardData
                    ? dnnl_dilated_convolution_backward_data_desc_init(
                        &op, dnnl_convolution_direct, &source, &weights, &destination, strides, dilation, padBefore,
                        padAfter)
                    : dnnl_dilated_convolution_backward_weights_desc_init(
                        &op, dnnl_convolution_direct, &source, &weights, nil, &destination, strides, dilation,
                        padBefore, padAfter)
                guard status == dnnl_success else { return nil }
                return Self.create(&op, engine, attributes, hint: forward)
            }
        }

        private static func create(
            _ op: inout dnnl_convolution_desc_t, _ engine: dnnl_engine_t, _ attributes: Attributes,
            hint: dnnl_primitive_desc_t?
        ) -> dnnl_primitive_desc_t? {
            var pd: dnnl_primitive_desc_t?
            guard dnnl_primitive_desc_create(&pd, &op, attributes.handle, engine, hint) == dnnl_success else {
                return nil
            }
            return pd
        }
    }

    /// Primitive attributes: a user-provided scratchpad, and a rectifier post-op when `cap` is set.
    final class Attributes {
        let handle: dnnl_primitive_attr_t

        init?(cap: Float?) {
            var attributes: dnnl_primitive_attr_t?
            guard dnnl_primitive_attr_create(&attributes) == dnnl_success, let attributes else { return nil }
            handle = attributes
            guard dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user) == dnnl_success
            else { return nil }
            guard let cap else { return }
            var postOps: dnnl_post_ops_t?
            guard dnnl_post_ops_create(&postOps) == dnnl_success else { return nil }
            defer { dnnl_post_ops_destroy(postOps) }
            let appended =
                cap.isFinite
                ? dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_clip, 0, cap)
                : dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, 0, 0)
            guard appended == dnnl_success, dnnl_primitive_attr_set_post_ops(attributes, postOps) == dnnl_success
            else { return nil }
        }

        deinit { dnnl_primitive_attr_destroy(handle) }
    }

    /// A ready primitive and how the user's kernel reaches its weight layout (or its kernel
    /// gradient leaves it).
    final class Plan: @unchecked Sendable {
        let descriptor: dnnl_primitive_desc_t
        let primitive: dnnl_primitive_t
        /// The primitive's own weight (or kernel-gradient) layout, when it differs from Keras's.
        let weightLayout: dnnl_memory_desc_t?
        /// user -> `weightLayout` (forward, backward data) or `weightLayout` -> user (backward weights).
        let reorder: dnnl_primitive_t?
        let reorderDescriptor: dnnl_primitive_desc_t?
        let userWeights: dnnl_memory_desc_t

        init?(_ pass: Pass, _ problem: Problem, _ engine: dnnl_engine_t) {
            guard let pd = problem.descriptor(pass, engine) else { return nil }
            var primitive: dnnl_primitive_t?
            guard dnnl_primitive_create(&primitive, pd) == dnnl_success, let primitive else {
                dnnl_primitive_desc_destroy(pd)
                return nil
            }
            descriptor = pd
            self.primitive = primitive
            var user = problem.userWeights
            userWeights = user
            let query = pass == .backwardWeights ? dnnl_query_diff_weights_md : dnnl_query_weights_md
            guard let wanted = dnnl_primitive_desc_query_md(pd, query, 0), dnnl_memory_desc_equal(wanted, &user) == 0
            else {
                weightLayout = nil; reorder = nil; reorderDescriptor = nil
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
            } else {
                if let rpd { dnnl_primitive_desc_destroy(rpd) }
                dnnl_primitive_destroy(primitive)
                dnnl_primitive_desc_destroy(pd)
                return nil
            }
        }

        deinit {
            if let reorder { dnnl_primitive_destroy(reorder) }
            if let reorderDescriptor { dnnl_primitive_desc_destroy(reorderDescriptor) }
            dnnl_primitive_destroy(primitive)
            dnnl_primitive_desc_destroy(descriptor)
        }
    }

    private struct PlanKey: Hashable {
        let pass: Pass
        let problem: Problem
        let threads: Int
    }

    /// Multiply-accumulates per thread below which another thread costs more than it saves
    /// (waking it, splitting the work): batch-1 convolutions of small models run on one.
    static let macsPerThread = 2_000_000

    /// Sizes the calling thread's OpenMP team for `problem`: `Compute.threads`, fewer for a
    /// small convolution (a function of the shapes only, so results stay reproducible for a
    /// thread setting), with subnormals flushed on the caller (whose bits new team threads
    /// inherit); returns the count.
    private static func enterTeam(for problem: Problem) -> Int {
        let threads = max(1, min(Compute.threads, problem.macs / macsPerThread))
        Compute.flushSubnormals()
        omp_set_num_threads(Int32(threads))
        return threads
    }

    /// Plans by problem, at most `cacheCapacity`; emptied when full (a training run meets a few
    /// dozen problems: each layer's shapes at the batch sizes it sees).
    private static let plans = Mutex<[PlanKey: Plan]>([:])
    static let cacheCapacity = 512

    /// The cached plan of `pass` for `problem`, made on first use; nil when oneDNN refuses it.
    private static func plan(_ pass: Pass, _ problem: Problem, _ threads: Int, _ engine: dnnl_engine_t) -> Plan? {
        let key = PlanKey(pass: pass, problem: problem, threads: threads)
        if let plan = plans.withLock({ $0[key] }) { return plan }
        guard let plan = Plan(pass, problem, engine) else { return nil }
        plans.withLock { plans in
            if plans.count >= cacheCapacity { plans.removeAll() }
            plans[key] = plan
        }
        return plan
    }

    // MARK: - Execution

    /// A oneDNN failure inside an `Execution`; the caller falls back to its own path.
    struct Failure: Error {}

    /// The objects of one call (stream, memories), destroyed together at its end.
    final class Execution {
        let engine: dnnl_engine_t
        private var stream: dnnl_stream_t?
        private var memories: [dnnl_memory_t] = []
        private var buffers: [(UnsafeMutableRawPointer, Int)] = []

        init(engine: dnnl_engine_t) { self.engine = engine }

        /// Streams of finished calls, reused (one is made per concurrent call, at most).
        private static let idleStreams = Mutex(UncheckedSendable<[dnnl_stream_t]>([]))

        deinit {
            for m in memories { dnnl_memory_destroy(m) }
            if let stream { Execution.idleStreams.withLock { $0.value.append(stream) } }
            for (buffer, bytes) in buffers { ScratchBuffers.shared.give(buffer, bytes) }
        }

        /// Runs `body`; false when oneDNN failed.
        func run(_ body: (Execution) throws(Failure) -> Void) -> Bool {
            stream = Execution.idleStreams.withLock { $0.value.popLast() }
            if stream == nil {
                guard dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success else {
                    return false
                }
            }
            do {
                try body(self)
                return dnnl_stream_wait(stream) == dnnl_success
            } catch {
                return false
            }
        }

        /// A memory object over `pointer`, described by `descriptor`.
        func memory(_ descriptor: dnnl_memory_desc_t, _ pointer: UnsafeRawPointer) throws(Failure) -> dnnl_memory_t {
            try memory(descriptor, handle: UnsafeMutableRawPointer(mutating: pointer))
        }

        /// A memory object over a pooled buffer sized for `descriptor`, given back at the end.
        private func pooledMemory(_ descriptor: dnnl_memory_desc_t) throws(Failure) -> dnnl_memory_t {
            var d = descriptor
            let bytes = dnnl_memory_desc_get_size(&d)
            let buffer = ScratchBuffers.shared.take(bytes)
            buffers.append((buffer, bytes))
            return try memory(descriptor, handle: buffer)
        }

        private func memory(
            _ descriptor: dnnl_memory_desc_t, handle: UnsafeMutableRawPointer?
        ) throws(Failure)
            -> dnnl_memory_t
        {
            var descriptor = descriptor
            var m: dnnl_memory_t?
            guard dnnl_memory_create(&m, &descriptor, engine, handle) == dnnl_success, let m else { throw Failure() }
            memories.append(m)
            return m
        }

        /// The user's kernel in the layout `plan`'s primitive reads: the buffer itself, or a
        /// reordered copy.
        func weights(_ pointer: UnsafePointer<Float>, _ plan: Plan) throws(Failure) -> dnnl_memory_t {
            let user = try memory(plan.userWeights, pointer)
            guard let layout = plan.weightLayout, let reorder = plan.reorder else { return user }
            let target = try pooledMemory(layout)
            try execute(reorder, plan.reorderDescriptor, [(DNNL_ARG_FROM, user), (DNNL_ARG_TO, target)])
            return target
        }

        /// Runs `body` with a kernel-gradient memory in the layout `plan`'s primitive writes,
        /// then brings the gradient into the user's buffer at `pointer`.
        func gradientWeights(
            _ pointer: UnsafeMutablePointer<Float>, _ plan: Plan, _ body: (dnnl_memory_t) throws(Failure) -> Void
        ) throws(Failure) {
            let user = try memory(plan.userWeights, pointer)
            guard let layout = plan.weightLayout, let reorder = plan.reorder else { return try body(user) }
            let scratch = try pooledMemory(layout)
            try body(scratch)
            try execute(reorder, plan.reorderDescriptor, [(DNNL_ARG_FROM, scratch), (DNNL_ARG_TO, user)])
        }

        /// Runs `primitive` (made from `descriptor`) on `arguments`, with a scratchpad of its own.
        func execute(
            _ primitive: dnnl_primitive_t, _ descriptor: dnnl_primitive_desc_t?, _ arguments: [(Int32, dnnl_memory_t)]
        ) throws(Failure) {
            var args = arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }
            if let descriptor, let scratchpad = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0),
                dnnl_memory_desc_get_size(scratchpad) > 0
            {
                let memory = try pooledMemory(scratchpad.pointee)
                args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: memory))
            }
            guard dnnl_primitive_execute(primitive, stream, Int32(args.count), args) == dnnl_success else {
                throw Failure()
            }
        }
    }
}
