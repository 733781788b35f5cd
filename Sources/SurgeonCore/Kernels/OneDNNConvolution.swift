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
/// calling thread, `Compute.threads` strong (fewer for a small convolution, `teamSize`); a
/// primitive is made for a thread count, which is part of its key. The team's threads flush
/// subnormals: they are started by a thread that does, and inherit its floating-point control
/// bits.
enum OneDNNConvolution {
    /// The CPU engine, created once; nil when oneDNN cannot make one.
    static let engine: UncheckedSendable<dnnl_engine_t?> = {
        var engine: dnnl_engine_t?
        guard dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success else { return UncheckedSendable(nil) }
        return UncheckedSendable(engine)
    }()

    /// True when oneDNN made an engine on this machine.
    static var isAvailable: Bool { engine.value != nil }

    /// `output[n, oy, ox, f]` as `Convolution.forward` defines it, then `epilogue` when given.
    /// With `kernelLayouts`, the kernel in the primitive's layout comes from (and goes into)
    /// that cache instead of being reordered on every call.
    static func forward(
        input: Tensor, kernel: Tensor, geometry g: ConvGeometry, groups: Int, depthwise: Bool,
        epilogue: ConvolutionEpilogue? = nil, kernelLayouts: KernelLayoutCache? = nil
    ) -> Tensor? {
        guard
            let (problem, pairs, _, plan) = forwardPlan(
                inputShape: input.shape, kernel: kernel, geometry: g, groups: groups, depthwise: depthwise,
                epilogue: epilogue)
        else { return nil }
        var ok = false
        let output = Tensor(shape: problem.outputShape) { y in
            ok = input.scalars.withUnsafeBufferPointer { x in
                kernel.scalars.withUnsafeBufferPointer { w in
                    withBias(epilogue?.bias, pairs) { b in
                        plan.run { (run: Binding) throws(Failure) in
                            try run.point(run.input, at: x.baseAddress!)
                            try run.point(run.output, at: y.baseAddress!)
                            if let bias = run.bias, let pointer = b.baseAddress { try run.point(bias, at: pointer) }
                            let source: KernelSource = pairs.map { .paired($0, w) } ?? .keras(w.baseAddress!)
                            try run.setKernel(source, of: kernel, cache: kernelLayouts)
                            try run.execute()
                        }
                    }
                }
            }
        }
        return ok ? output : nil
    }

    /// What a forward call with these arguments runs on: its problem, the column pairing
    /// when that saves work, its thread count and the plan of the problem it runs (the paired
    /// one when paired); nil when oneDNN cannot run it. `forward` and `Prepared` both start here.
    static func forwardPlan(
        inputShape: [Int], kernel: Tensor, geometry g: ConvGeometry, groups: Int, depthwise: Bool,
        epilogue: ConvolutionEpilogue?
    ) -> (problem: Problem, pairs: ColumnPairs?, threads: Int, plan: Plan)? {
        guard let engine = engine.value,
            let problem = Problem(
                inputShape: inputShape, kernel: kernel, geometry: g, groups: groups, depthwise: depthwise),
            epilogue?.bias.map({ $0.count == problem.outputs }) ?? true
        else { return nil }
        let threads = teamSize(for: problem)
        let pairs = ColumnPairs(problem, vectorWidth: ColumnPairs.vectorWidth)
        guard
            let plan = plan(
                .forward(bias: epilogue?.bias != nil, cap: epilogue?.rectifierCap), pairs?.problem ?? problem,
                threads, engine)
        else { return nil }
        return (problem, pairs, threads, plan)
    }

    /// `body` with the bias (empty when none), doubled when `pairs` is set.
    private static func withBias<R>(
        _ bias: Tensor?, _ pairs: ColumnPairs?, _ body: (UnsafeBufferPointer<Float>) -> R
    )
        -> R
    {
        (bias?.scalars ?? []).withUnsafeBufferPointer { b in
            guard let pairs, !b.isEmpty else { return body(b) }
            return pairs.bias(b).withUnsafeBufferPointer(body)
        }
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
        let threads = teamSize(for: problem)
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
                            let weightsDone = weightsPlan.run { (run: Binding) throws(Failure) in
                                try run.point(run.input, at: x.baseAddress!)
                                try run.point(run.output, at: gy.baseAddress!)
                                try run.setKernelGradient(gw.baseAddress!)
                                try run.execute()
                            }
                            guard weightsDone, let dataPlan else { return weightsDone }
                            return dataPlan.run { (run: Binding) throws(Failure) in
                                try run.point(run.output, at: gy.baseAddress!)
                                try run.point(run.input, at: gx.baseAddress!)
                                try run.setKernel(.keras(w.baseAddress!), of: kernel, cache: nil)
                                try run.execute()
                            }
                        }
                    }
                }
            }
            if wantInput { dx = inputGradient }
        }
        return ok ? (dx, dw) : nil
    }

    /// oneDNN's name for the implementation `pass` of `problem` runs on (`dnnl_query_impl_info_str`),
    /// nil when oneDNN refuses it.
    static func implementation(_ pass: Pass, _ problem: Problem) -> String? {
        guard let engine = engine.value, let descriptor = problem.descriptor(pass, engine) else { return nil }
        defer { dnnl_primitive_desc_destroy(descriptor) }
        var info: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &info) == dnnl_success, let info
        else { return nil }
        return String(cString: info)
    }

    private struct PlanKey: Hashable {
        let pass: Pass
        let problem: Problem
        let threads: Int
    }

    /// Multiply-accumulates per thread below which another thread costs more than it saves
    /// (waking it, splitting the work): most batch-1 convolutions of small models run on one.
    /// At 1.5M a batch-1 vgg's 3.6M-MAC layer (28x28, 32 -> 16) takes the second thread and the
    /// model goes 0.122 -> 0.116 ms at 2 threads; at 1M or 650k the next smaller layers gained
    /// nothing more (0.117, 0.116) and a pruned vgg's 1.35M-MAC layer nothing at all.
    static let macsPerThread = 1_500_000

    /// The same for a depthwise convolution, which reads as much memory for a quarter of the
    /// multiply-accumulates or less (oneDNN's depthwise kernels ran at ~20 GMAC/s here, its
    /// dense ones at 60-80): a pruned MobileNetV2's 7x7 depthwise layers at batch 64 stayed on
    /// one thread at 2M, and its 2-thread batch took 5.3 ms instead of 4.7.
    static let depthwiseMacsPerThread = 500_000

    /// The threads `problem` runs on: `Compute.threads`, fewer for a small convolution (a
    /// function of the shapes only, so results stay reproducible for a thread setting).
    static func teamSize(for problem: Problem) -> Int {
        let perThread = problem.isDepthwise ? depthwiseMacsPerThread : macsPerThread
        return max(1, min(Compute.threads, problem.macs / perThread))
    }

    /// Sizes the calling thread's OpenMP team to `threads`, with subnormals flushed on the
    /// caller (whose bits new team threads inherit).
    static func enterTeam(of threads: Int) {
        Compute.flushSubnormals()
        omp_set_num_threads(Int32(threads))
    }

    /// Plans by problem, at most `cacheCapacity`; emptied when full (a training run meets a few
    /// dozen problems: each layer's shapes at the batch sizes it sees).
    private static let plans = Mutex<[PlanKey: Plan]>([:])
    static let cacheCapacity = 512

    /// The cached plan of `pass` for `problem` on `threads`, made on first use; nil when oneDNN
    /// refuses it. Leaves the caller's team at `threads`: oneDNN splits a primitive's work for
    /// the team size it is created on and keeps that split, so a primitive made on a bigger
    /// team would run on more threads than its key says (a batch-1 MobileNetV2 at 2 threads
    /// spent 40% of its time in OpenMP barriers that way).
    static func plan(_ pass: Pass, _ problem: Problem, _ threads: Int, _ engine: dnnl_engine_t) -> Plan? {
        let key = PlanKey(pass: pass, problem: problem, threads: threads)
        enterTeam(of: threads)
        if let plan = plans.withLock({ $0[key] }) { return plan }
        guard let plan = Plan(pass, problem, engine) else { return nil }
        plans.withLock { plans in
            if plans.count >= cacheCapacity { plans.removeAll() }
            plans[key] = plan
        }
        return plan
    }
}
