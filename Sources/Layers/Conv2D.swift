import SurgeonCore

/// Keras `Conv2D`: `filters` output channels, kernel `[kh, kw, in / groups, filters]`, optional
/// bias `[filters]`, and an optional fused activation. NHWC, im2col + SGEMM.
///
/// With `groups = g > 1` (a grouped convolution, as in ResNeXt), output channels
/// `k * filters/g ..< (k+1) * filters/g` read input channels `k * in/g ..< (k+1) * in/g` only;
/// `g` must divide both channel counts, and pruning keeps the same number of channels in every
/// group (`channelBlocks`).
public struct Conv2D: Layer {
    public static let kerasClassName = "Conv2D"
    public let filters: Int
    public let window: WindowOptions
    public let useBias: Bool
    public let activation: ActivationFunction
    public let groups: Int
    public var weights: [Tensor] = []

    public init(
        filters: Int, kernelSize: [Int], strides: [Int] = [1, 1], padding: Padding = .valid,
        dilationRate: [Int] = [1, 1], groups: Int = 1, useBias: Bool = true, activation: ActivationFunction = .linear
    ) {
        self.filters = filters
        self.window = WindowOptions(size: kernelSize, strides: strides, padding: padding, dilation: dilationRate)
        self.groups = groups
        self.useBias = useBias
        self.activation = activation
    }

    public init(config: LayerConfig) throws {
        filters = try config.positiveInt("filters")
        window = try WindowOptions(config: config, sizeKey: "kernel_size")
        useBias = try config.bool("use_bias", default: true)
        activation = try config.activation()
        groups = try config.positiveInt("groups", default: 1)
        guard filters % groups == 0 else {
            throw LayerError.config(
                .invalid(
                    key: "groups", value: "\(groups)", expected: "a divisor of filters (\(filters))"))
        }
    }

    public var config: LayerConfig {
        var c = LayerConfig([
            "filters": .number(Double(filters)), "use_bias": .bool(useBias),
            "activation": .string(activation.rawValue), "groups": .number(Double(groups)),
        ])
        window.write(to: &c, sizeKey: "kernel_size")
        return c
    }

    public var weightNames: [String] { useBias ? ["kernel", "bias"] : ["kernel"] }

    public var producesProbabilities: Bool { activation == .softmax }
    public var rectifiesOutput: Bool { activation.isRectifier }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try singleInput(inputShapes)
        let g = try window.geometry(for: input)
        try checkGroups(inputChannels: input[2])
        return [g.outputHeight, g.outputWidth, filters]
    }

    /// Refuses channel counts that `groups` does not divide (both Keras and the kernel need it).
    func checkGroups(inputChannels: Int) throws {
        guard groups > 0, inputChannels % groups == 0, filters % groups == 0 else {
            throw LayerError.inputShape(
                "Conv2D with groups = \(groups) needs input and output channels divisible by \(groups); it has "
                    + "\(inputChannels) input channels and \(filters) filters")
        }
    }

    public func weightShapes(for inputShapes: [Shape]) throws -> [Shape] {
        let input = try singleInput(inputShapes)
        guard input.count == 3 else {
            throw LayerError.inputShape("expects an image input [height, width, channels], got \(input)")
        }
        try checkGroups(inputChannels: input[2])
        let kernel = window.size + [input[2] / groups, filters]
        return useBias ? [kernel, [filters]] : [kernel]
    }

    public func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] {
        let shapes = try weightShapes(for: inputShapes)
        let area = window.size[0] * window.size[1]
        let kernel = Tensor.glorotUniform(
            shape: shapes[0], fanIn: area * shapes[0][2], fanOut: area * filters, random: &random)
        return useBias ? [kernel, Tensor(shape: [filters])] : [kernel]
    }

    public func macs(inputShapes: [Shape], outputShape: Shape) -> Int {
        guard let input = inputShapes.first, input.count == 3 else { return 0 }
        return outputShape[0] * outputShape[1] * filters * window.size[0] * window.size[1] * (input[2] / max(groups, 1))
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        try checkInput(x.shape)
        let g = try window.geometry(for: Array(x.shape.dropFirst()))
        if !context.training, let epilogue = activation.convolutionEpilogue(bias: useBias ? weights[1] : nil) {
            return LayerOutput(
                Convolution.forward(
                    input: x, kernel: weights[0], geometry: g, groups: groups, epilogue: epilogue,
                    kernelLayouts: context.kernelLayouts))
        }
        let z = Convolution.forward(
            input: x, kernel: weights[0], geometry: g, groups: groups,
            epilogue: useBias ? ConvolutionEpilogue(bias: weights[1]) : nil)
        let y = activation.apply(z)
        return LayerOutput(y, cache: context.training && activation != .linear ? z : nil)
    }

    /// Prepared when the activation fuses into the convolution (linear, relu, relu6).
    public func preparedForward(
        inputShapes: [[Int]], kernelLayouts: KernelLayoutCache?
    ) throws -> (any PreparedForward)? {
        guard
            let (x, epilogue) = activation.preparedEpilogue(bias: useBias ? weights[1] : nil, inputShapes: inputShapes)
        else { return nil }
        try checkInput(x)
        return Convolution.prepared(
            inputShape: x, kernel: weights[0], geometry: try window.geometry(for: Array(x.dropFirst())),
            groups: groups, epilogue: epilogue, kernelLayouts: kernelLayouts)
    }

    /// Throws unless `shape` (batch axis first) is an image batch with the kernel's input channels.
    private func checkInput(_ shape: [Int]) throws {
        guard shape.count == 4, shape[3] == weights[0].shape[2] * groups, weights[0].shape[3] % groups == 0 else {
            throw LayerError.inputShape(
                "Conv2D with a kernel for \(weights[0].shape[2] * groups) input channels got input \(shape)")
        }
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        try checkInput(x.shape)
        let g = try window.geometry(for: Array(x.shape.dropFirst()))
        let dz = try fusedActivationGradient(activation, outputGradient, output)
        let (dx, dk) = Convolution.backward(
            outputGradient: dz, input: x, kernel: weights[0], geometry: g, groups: groups)
        return LayerGradients(inputs: [dx!], weights: useBias ? [dk, dz.channelSums()] : [dk])
    }
}

/// dLoss/dPreActivation for a layer with a fused activation, whose cache holds the
/// pre-activation when the activation is not linear.
func fusedActivationGradient(_ activation: ActivationFunction, _ dy: Tensor, _ output: LayerOutput) throws -> Tensor {
    guard activation != .linear else { return dy }
    guard let z = output.cache as? Tensor else { throw LayerError.missingCache }
    return activation.backward(dy, input: z, output: output.value)
}

// MARK: - Surgery

extension Conv2D: SurgeryRule {
    /// Each filter is a new channel; a softmax over filters couples them all, so it pins them.
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .fresh }

    public var outputChannelsArePrunable: Bool { activation != .softmax }

    /// A grouped convolution's input and output channels are each `groups` blocks that must
    /// keep equal sizes.
    public func channelBlocks(inputShapes: [Shape]) throws -> ChannelBlocks {
        ChannelBlocks(input: groups, output: groups)
    }

    /// Slices the kernel `[kh, kw, in / groups, out]` on both channel axes and the bias on `out`;
    /// with groups, each filter keeps the surviving input channels of its own group.
    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        let keptIn = try singleInput(keptInputs)
        var layer = Conv2D(
            filters: keptOutputs.count, kernelSize: window.size, strides: window.strides, padding: window.padding,
            dilationRate: window.dilation, groups: groups, useBias: useBias, activation: activation)
        let kernel =
            groups == 1
            ? weights[0].selecting(rows: keptIn, columns: keptOutputs)
            : try groupedKernel(keptInputs: keptIn, keptOutputs: keptOutputs)
        layer.weights = [kernel] + (useBias ? [weights[1].selecting(keptOutputs, alongAxis: 0)] : [])
        return layer
    }

    /// The kernel of the pruned grouped convolution: every group must keep the same number of
    /// input channels and of filters, at least one of each.
    func groupedKernel(keptInputs: [Int], keptOutputs: [Int]) throws -> Tensor {
        let old = weights[0]
        let inPerGroup = old.shape[2], outPerGroup = filters / groups
        let inputs = (0..<groups).map { k in keptInputs.filter { $0 / inPerGroup == k }.map { $0 - k * inPerGroup } }
        let outputs = (0..<groups).map { k in keptOutputs.filter { $0 / outPerGroup == k } }
        let inCounts = inputs.map(\.count), outCounts = outputs.map(\.count)
        guard Set(inCounts).count == 1, Set(outCounts).count == 1, inCounts[0] > 0, outCounts[0] > 0 else {
            throw LayerError.unsupported(
                "a Conv2D with \(groups) groups keeps the same number of channels in every group, at least one; the "
                    + "plan keeps \(inCounts) input and \(outCounts) output channels per group")
        }
        let taps = window.size[0] * window.size[1], newIn = inCounts[0], newOut = keptOutputs.count
        var kernel = Tensor(shape: window.size + [newIn, newOut])
        for t in 0..<taps {
            for (j, f) in keptOutputs.enumerated() {
                let rows = inputs[f / outPerGroup]
                for (i, c) in rows.enumerated() {
                    kernel.scalars[(t * newIn + i) * newOut + j] = old.scalars[(t * inPerGroup + c) * filters + f]
                }
            }
        }
        return kernel
    }

    public var weightChannelAxes: [WeightChannelAxes] {
        [WeightChannelAxes(output: 3, input: 2, inputBlocks: groups)] + (useBias ? [WeightChannelAxes(output: 0)] : [])
    }

    /// A constant input channel `c` adds `k_c * sum over taps of kernel[., ., c, f]` to output
    /// `f` (of `c`'s group): exact unless the window reads zero padding, where border pixels see
    /// fewer taps.
    public func foldingConstantInputs(
        _ constants: [Int: Float], inputShapes: [Shape]
    ) throws -> (layer: any Layer, exact: Bool)? {
        let g = try window.geometry(for: try singleInput(inputShapes))
        let added =
            groups == 1
            ? foldedBias(kernel: weights[0], constants: constants)
            : groupedFoldedBias(constants: constants)
        var layer = Conv2D(
            filters: filters, kernelSize: window.size, strides: window.strides, padding: window.padding,
            dilationRate: window.dilation, groups: groups, useBias: true, activation: activation)
        var bias = useBias ? weights[1] : Tensor(shape: [filters])
        bias.add(added)
        layer.weights = [weights[0], bias]
        return (layer, !g.touchesPadding)
    }

    /// `foldedBias` for a grouped kernel: constant channel `c` reaches only its group's filters.
    func groupedFoldedBias(constants: [Int: Float]) -> Tensor {
        let kernel = weights[0]
        let inPerGroup = kernel.shape[2], outPerGroup = filters / groups
        let taps = window.size[0] * window.size[1]
        var bias = Tensor(shape: [filters])
        for t in 0..<taps {
            for (c, k) in constants.sorted(by: { $0.key < $1.key }) {
                let group = c / inPerGroup
                let row = (t * inPerGroup + c - group * inPerGroup) * filters
                for f in (group * outPerGroup)..<((group + 1) * outPerGroup) {
                    bias.scalars[f] += k * kernel.scalars[row + f]
                }
            }
        }
        return bias
    }
}

/// `sum over c in constants, over all leading axes of kernel[..., c, f] * k_c`, for a kernel
/// `[..., in, out]`: the bias that replaces constant input channels.
func foldedBias(kernel: Tensor, constants: [Int: Float]) -> Tensor {
    let out = kernel.shape[kernel.rank - 1], inputs = kernel.shape[kernel.rank - 2]
    let taps = kernel.count / max(inputs * out, 1)
    var bias = Tensor(shape: [out])
    for t in 0..<taps {
        for (c, k) in constants.sorted(by: { $0.key < $1.key }) {
            let row = (t * inputs + c) * out
            for f in 0..<out { bias.scalars[f] += k * kernel.scalars[row + f] }
        }
    }
    return bias
}

// MARK: - Examples

extension Conv2D {
    public static var examples: [LayerExample] {
        [
            LayerExample("Conv2D 3x3 same relu") {
                Conv2D(filters: 5, kernelSize: [3, 3], padding: .same, activation: .relu)
            },
            LayerExample("Conv2D 3x3 stride 2 valid no bias") {
                Conv2D(filters: 3, kernelSize: [3, 3], strides: [2, 2], padding: .valid, useBias: false)
            },
            LayerExample("Conv2D dilated") {
                Conv2D(filters: 4, kernelSize: [3, 3], padding: .same, dilationRate: [2, 2])
            },
            LayerExample("Conv2D grouped (4 groups, 3x3 same)", channels: 8) {
                Conv2D(filters: 8, kernelSize: [3, 3], padding: .same, groups: 4)
            },
            LayerExample("Conv2D grouped (2 groups, stride 2 valid no bias, relu)", channels: 6) {
                Conv2D(
                    filters: 4, kernelSize: [3, 3], strides: [2, 2], padding: .valid, groups: 2, useBias: false,
                    activation: .relu)
            },
            LayerExample("Conv2D grouped from its Keras config (3 groups, pointwise)", channels: 6) {
                try Conv2D(config: LayerConfig(["filters": 9, "kernel_size": 1, "groups": 3]))
            },
            LayerExample("Conv2D from its Keras config (stride 2 same relu)") {
                try Conv2D(
                    config: LayerConfig([
                        "filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu",
                    ]))
            },
        ]
    }
}
