import CDNNL

extension OneDNNConvolution {
    /// Which primitive of a convolution.
    enum Pass: Hashable {
        /// Forward, with a bias argument when `bias` and a rectifier post-op when `cap` is set.
        case forward(bias: Bool, cap: Float?)
        case backwardData
        case backwardWeights
    }

    /// One convolution in oneDNN's terms: NHWC activations, the Keras kernel by its strides, and
    /// the window arithmetic. Plain integers, so that finding a problem's primitive hashes a few
    /// words and allocates nothing; equal problems share primitives.
    struct Problem: Hashable {
        let batch: Int, channels: Int, height: Int, width: Int
        var outputs: Int, outputHeight: Int, outputWidth: Int
        var kernelHeight: Int, kernelWidth: Int
        /// Input channels per group.
        let groupChannels: Int
        let groups: Int
        var strideHeight: Int, strideWidth: Int
        /// Keras's dilation rates (oneDNN counts from 0: rate - 1).
        let dilationHeight: Int, dilationWidth: Int
        let padTop: Int, padLeft: Int, padBottom: Int, padRight: Int

        /// `depthwise`: the kernel is `[kh, kw, in, multiplier]`, one group per input channel
        /// (`groups` is ignored). Nil when the shapes do not make a convolution.
        init?(input: Tensor, kernel: Tensor, geometry g: ConvGeometry, groups: Int, depthwise: Bool) {
            self.init(inputShape: input.shape, kernel: kernel, geometry: g, groups: groups, depthwise: depthwise)
        }

        /// The same for an input of `inputShape` (batch axis first).
        init?(inputShape: [Int], kernel: Tensor, geometry g: ConvGeometry, groups: Int, depthwise: Bool) {
            guard inputShape.count == 4, kernel.rank == 4 else { return nil }
            let n = inputShape[0], c = inputShape[3]
            let kh = g.kernelHeight, kw = g.kernelWidth
            let groups = depthwise ? c : groups
            let outputs = depthwise ? c * kernel.shape[3] : kernel.shape[3]
            let cg = depthwise ? 1 : kernel.shape[2]
            guard n > 0, c > 0, groups >= 1, outputs > 0, kernel.count > 0, c == cg * groups, outputs % groups == 0,
                kernel.shape[0] == kh,
                kernel.shape[1] == kw, inputShape[1] == g.inputHeight, inputShape[2] == g.inputWidth
            else { return nil }
            batch = n
            channels = c
            height = g.inputHeight
            width = g.inputWidth
            self.outputs = outputs
            outputHeight = g.outputHeight
            outputWidth = g.outputWidth
            kernelHeight = kh
            kernelWidth = kw
            groupChannels = cg
            self.groups = groups
            strideHeight = g.strideHeight
            strideWidth = g.strideWidth
            dilationHeight = g.dilationHeight
            dilationWidth = g.dilationWidth
            padTop = g.padTop
            padLeft = g.padLeft
            let effH = (kh - 1) * g.dilationHeight + 1, effW = (kw - 1) * g.dilationWidth + 1
            padBottom = max(0, (g.outputHeight - 1) * g.strideHeight + effH - g.inputHeight - g.padTop)
            padRight = max(0, (g.outputWidth - 1) * g.strideWidth + effW - g.inputWidth - g.padLeft)
        }

        var outputShape: [Int] { [batch, outputHeight, outputWidth, outputs] }

        /// A few of the fields, enough to tell a network's convolutions apart (equality still
        /// compares all): finding a plan is on every call's path.
        func hash(into hasher: inout Hasher) {
            hasher.combine(batch)
            hasher.combine(channels &* 31 &+ outputs)
            hasher.combine(height &* 31 &+ width)
            hasher.combine(kernelHeight &* 31 &+ strideHeight &* 7 &+ groups)
        }

        /// Multiply-accumulates of the whole batch.
        var macs: Int { batch * outputHeight * outputWidth * outputs * groupChannels * kernelHeight * kernelWidth }

        private var strides: [dnnl_dim_t] { [strideHeight, strideWidth].map { dnnl_dim_t($0) } }
        private var dilation: [dnnl_dim_t] { [dilationHeight - 1, dilationWidth - 1].map { dnnl_dim_t($0) } }
        private var padBefore: [dnnl_dim_t] { [padTop, padLeft].map { dnnl_dim_t($0) } }
        private var padAfter: [dnnl_dim_t] { [padBottom, padRight].map { dnnl_dim_t($0) } }

        var source: dnnl_memory_desc_t { Self.nhwc([batch, channels, height, width]) }
        var destination: dnnl_memory_desc_t { Self.nhwc([batch, outputs, outputHeight, outputWidth]) }
        var bias: dnnl_memory_desc_t {
            var md = dnnl_memory_desc_t()
            dnnl_memory_desc_init_by_tag(&md, 1, [dnnl_dim_t(outputs)], dnnl_f32, dnnl_a)
            return md
        }

        /// Keras's kernel element (group, j, i, y, x) sits at
        /// `((y * kw + x) * cg + i) * outputs + group * fg + j`.
        private var weightDims: [dnnl_dim_t] {
            let dims =
                groups == 1
                ? [outputs, groupChannels, kernelHeight, kernelWidth]
                : [groups, outputs / groups, groupChannels, kernelHeight, kernelWidth]
            return dims.map { dnnl_dim_t($0) }
        }

        var userWeights: dnnl_memory_desc_t {
            let cg = groupChannels, kw = kernelWidth
            let strides =
                groups == 1
                ? [1, outputs, kw * cg * outputs, cg * outputs]
                : [outputs / groups, 1, outputs, kw * cg * outputs, cg * outputs]
            var md = dnnl_memory_desc_t()
            let dims = weightDims
            dnnl_memory_desc_init_by_strides(
                &md, Int32(dims.count), dims, dnnl_f32, strides.map { dnnl_dim_t($0) })
            return md
        }

        private var anyWeights: dnnl_memory_desc_t {
            var md = dnnl_memory_desc_t()
            let dims = weightDims
            dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), dims, dnnl_f32, dnnl_format_tag_any)
            return md
        }

        private static func nhwc(_ dims: [Int]) -> dnnl_memory_desc_t {
            var md = dnnl_memory_desc_t()
            dnnl_memory_desc_init_by_tag(&md, 4, dims.map { dnnl_dim_t($0) }, dnnl_f32, dnnl_nhwc)
            return md
        }

        /// oneDNN's direct AVX-512 convolution, second in its list after the brgemm-based one.
        static let directKernel = "jit:avx512_core"

        /// Forward through `directKernel` rather than oneDNN's first choice (brgemm): a
        /// window wider than one pixel, no groups, at most 48 channels in and out. Measured on
        /// the demo models' layers (oneDNN 2.6, AVX-512, 1 thread), the direct kernel took
        /// 0.63-0.96 of brgemm's time on every such layer at batch 64 and 0.56-1.13 at batch 1
        /// (a 1-channel stem: 3.9 against 6.9 us); the pruned vgg as a whole went 0.099 ->
        /// 0.092 ms at batch 1 and 5.2 -> 4.5 ms at 64. At 64 channels brgemm was faster. A
        /// rule on the shapes, so a machine always makes the same choice (and the same bits);
        /// where the direct kernel does not exist (no AVX-512) oneDNN's first choice stays.
        var prefersDirectKernel: Bool {
            groups == 1 && kernelHeight * kernelWidth > 1 && channels <= 48 && outputs <= 48
        }

        /// oneDNN's direct AVX-512 depthwise convolution, second in its list after brdgmm.
        static let depthwiseKernel = "jit_dw:avx512_core"

        /// One group per input channel (a depthwise convolution, any multiplier).
        var isDepthwise: Bool { groupChannels == 1 && groups > 1 && groups == channels }

        /// The forward implementation to take instead of oneDNN's first choice, by name:
        /// `directKernel` where `prefersDirectKernel`; `depthwiseKernel` for a depthwise
        /// convolution with an epilogue (a bias or rectifier: the inference form's calls). On
        /// every depthwise layer of MobileNetV2 at 28x28 (3x3, stride 1 and 2, 24 to 384
        /// channels; oneDNN 2.6, AVX-512) with a rectifier it took 0.57-0.92 of brdgmm's time
        /// at batch 64 and 0.60-0.74 at batch 1, on 1 and 2 threads; brdgmm's rectifier post-op
        /// costs it up to 40%. Bare, as training runs them, the depthwise layers of a
        /// MobileNetV2 training step took 8.8-9.0 ms forward with brdgmm against 10.6-11.9 with
        /// it, so training keeps brdgmm. Nil: oneDNN's first choice.
        func preferredForwardKernel(epilogue: Bool) -> String? {
            if prefersDirectKernel { return Self.directKernel }
            return isDepthwise && epilogue ? Self.depthwiseKernel : nil
        }

        /// The primitive descriptor of `pass` (nil when oneDNN refuses the problem), with a
        /// scratchpad the caller provides (so that one primitive may run on several threads).
        func descriptor(_ pass: Pass, _ engine: dnnl_engine_t) -> dnnl_primitive_desc_t? {
            var source = source, destination = destination, weights = anyWeights, bias = bias
            var op = dnnl_convolution_desc_t()
            guard let attributes = Attributes(cap: { if case .forward(_, let cap) = pass { cap } else { nil } }())
            else { return nil }
            let strides = strides, dilation = dilation, padBefore = padBefore, padAfter = padAfter
            switch pass {
            case .forward(let biased, let cap):
                let status = withUnsafePointer(to: &bias) { biasDescriptor in
                    dnnl_dilated_convolution_forward_desc_init(
                        &op, dnnl_forward_training, dnnl_convolution_direct, &source, &weights,
                        biased ? biasDescriptor : nil, &destination, strides, dilation, padBefore, padAfter)
                }
                guard status == dnnl_success else { return nil }
                if let name = preferredForwardKernel(epilogue: biased || cap != nil) {
                    return Self.create(&op, engine, attributes, preferring: name)
                }
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

        /// The descriptor of the implementation called `name` (`dnnl_query_impl_info_str`), or
        /// oneDNN's first choice when it has none by that name.
        private static func create(
            _ op: inout dnnl_convolution_desc_t, _ engine: dnnl_engine_t, _ attributes: Attributes,
            preferring name: String
        ) -> dnnl_primitive_desc_t? {
            var iterator: dnnl_primitive_desc_iterator_t?
            guard dnnl_primitive_desc_iterator_create(&iterator, &op, attributes.handle, engine, nil) == dnnl_success,
                let iterator
            else { return nil }
            defer { dnnl_primitive_desc_iterator_destroy(iterator) }
            var first: dnnl_primitive_desc_t?
            repeat {
                guard let candidate = dnnl_primitive_desc_iterator_fetch(iterator) else { break }
                var info: UnsafePointer<CChar>?
                dnnl_primitive_desc_query(candidate, dnnl_query_impl_info_str, 0, &info)
                if let info, String(cString: info) == name {
                    if let first { dnnl_primitive_desc_destroy(first) }
                    return candidate
                }
                if first == nil { first = candidate } else { dnnl_primitive_desc_destroy(candidate) }
            } while dnnl_primitive_desc_iterator_next(iterator) == dnnl_success
            return first
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
}
