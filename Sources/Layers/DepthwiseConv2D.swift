import SurgeonCore

/// Keras `DepthwiseConv2D`: one `kh x kw` filter per input channel and multiplier, kernel
/// `[kh, kw, in, depth_multiplier]`, optional bias `[in * depth_multiplier]`; output channel
/// `c * depth_multiplier + m` reads input channel `c` only.
public struct DepthwiseConv2D: Layer {
    public static let kerasClassName = "DepthwiseConv2D"
    public let window: WindowOptions
    public let depthMultiplier: Int
    public let useBias: Bool
    public let activation: ActivationFunction
    public var weights: [Tensor] = []

    public init(
        kernelSize: [Int], strides: [Int] = [1, 1], padding: Padding = .valid, depthMultiplier: Int = 1,
        dilationRate: [Int] = [1, 1], useBias: Bool = true, activation: ActivationFunction = .linear
    ) {
        self.window = WindowOptions(size: kernelSize, strides: strides, padding: padding, dilation: dilationRate)
        self.depthMultiplier = depthMultiplier
        self.useBias = useBias
        self.activation = activation
    }

    public init(config: LayerConfig) throws {
        window = try WindowOptions(config: config, sizeKey: "kernel_size")
        depthMultiplier = try config.positiveInt("depth_multiplier", default: 1)
        useBias = try config.bool("use_bias", default: true)
        activation = try config.activation()
    }

    public var config: LayerConfig {
        var c = LayerConfig([
            "depth_multiplier": .number(Double(depthMultiplier)), "use_bias": .bool(useBias),
            "activation": .string(activation.rawValue),
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
        return [g.outputHeight, g.outputWidth, input[2] * depthMultiplier]
    }

    public func weightShapes(for inputShapes: [Shape]) throws -> [Shape] {
        let channels = try singleInput(inputShapes)[2]
        let kernel = window.size + [channels, depthMultiplier]
        return useBias ? [kernel, [channels * depthMultiplier]] : [kernel]
    }

    /// Keras's glorot_uniform computes a 4-D kernel's fans as receptive field x dims 2 and 3:
    /// fan_in = kh*kw*in, fan_out = kh*kw*multiplier.
    public func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] {
        let shapes = try weightShapes(for: inputShapes)
        let area = window.size[0] * window.size[1]
        let kernel = Tensor.glorotUniform(
            shape: shapes[0], fanIn: area * shapes[0][2], fanOut: area * depthMultiplier,
            random: &random)
        return useBias ? [kernel, Tensor(shape: shapes[1])] : [kernel]
    }

    public func macs(inputShapes: [Shape], outputShape: Shape) -> Int {
        outputShape.reduce(1, *) * window.size[0] * window.size[1]
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        try checkInput(x.shape)
        let g = try window.geometry(for: Array(x.shape.dropFirst()))
        if !context.training, let epilogue = activation.convolutionEpilogue(bias: useBias ? weights[1] : nil) {
            return LayerOutput(
                DepthwiseConvolution.forward(
                    input: x, kernel: weights[0], geometry: g, epilogue: epilogue, kernelLayouts: context.kernelLayouts)
            )
        }
        var z = DepthwiseConvolution.forward(input: x, kernel: weights[0], geometry: g)
        if useBias { z.addChannelBias(weights[1]) }
        return LayerOutput(activation.apply(z), cache: context.training && activation != .linear ? z : nil)
    }

    /// Prepared when the activation fuses into the convolution (linear, relu, relu6).
    public func preparedForward(
        inputShapes: [[Int]], kernelLayouts: KernelLayoutCache?
    ) throws -> (any PreparedForward)? {
        guard
            let (x, epilogue) = activation.preparedEpilogue(bias: useBias ? weights[1] : nil, inputShapes: inputShapes)
        else { return nil }
        try checkInput(x)
        return DepthwiseConvolution.prepared(
            inputShape: x, kernel: weights[0], geometry: try window.geometry(for: Array(x.dropFirst())),
            epilogue: epilogue, kernelLayouts: kernelLayouts)
    }

    /// Throws unless `shape` (batch axis first) is an image batch with the kernel's input channels.
    private func checkInput(_ shape: [Int]) throws {
        guard shape.count == 4, shape[3] == weights[0].shape[2] else {
            throw LayerError.inputShape(
                "DepthwiseConv2D with a kernel for \(weights[0].shape[2]) input channels got input \(shape)")
        }
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        try checkInput(x.shape)
        let g = try window.geometry(for: Array(x.shape.dropFirst()))
        let dz = try fusedActivationGradient(activation, outputGradient, output)
        let (dx, dk) = DepthwiseConvolution.backward(outputGradient: dz, input: x, kernel: weights[0], geometry: g)
        return LayerGradients(inputs: [dx!], weights: useBias ? [dk, dz.channelSums()] : [dk])
    }
}

// MARK: - Surgery

extension DepthwiseConv2D: SurgeryRule {
    /// Output channel `c * m + q` comes from input channel `c`: deleting an input channel
    /// deletes its `m` filters and output channels.
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .expanded(multiplier: depthMultiplier) }

    public var outputChannelsArePrunable: Bool { activation != .softmax }

    /// Keeps the filters of the surviving input channels: kernel `[kh, kw, in, m]` on `in`.
    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        let keptIn = try singleInput(keptInputs)
        let expected = keptIn.flatMap { c in (0..<depthMultiplier).map { c * depthMultiplier + $0 } }
        guard keptOutputs == expected else {
            throw LayerError.unsupported(
                "a depthwise convolution keeps whole input channels with all \(depthMultiplier) of their filters; the "
                    + "kept outputs do not match the kept inputs"
            )
        }
        var layer = DepthwiseConv2D(
            kernelSize: window.size, strides: window.strides, padding: window.padding,
            depthMultiplier: depthMultiplier, dilationRate: window.dilation, useBias: useBias,
            activation: activation)
        layer.weights =
            [weights[0].selecting(keptIn, alongAxis: 2)]
            + (useBias ? [weights[1].selecting(keptOutputs, alongAxis: 0)] : [])
        return layer
    }

    /// The kernel runs over input channels on axis 2 (each with its `depth_multiplier` filters).
    public var weightChannelAxes: [WeightChannelAxes] {
        [WeightChannelAxes(input: 2)] + (useBias ? [WeightChannelAxes(output: 0)] : [])
    }
}

// MARK: - Examples

extension DepthwiseConv2D {
    public static var examples: [LayerExample] {
        [
            LayerExample("DepthwiseConv2D m=1") { DepthwiseConv2D(kernelSize: [3, 3], padding: .same) },
            LayerExample("DepthwiseConv2D m=3 stride 2") {
                DepthwiseConv2D(
                    kernelSize: [3, 3], strides: [2, 2], padding: .same, depthMultiplier: 3, useBias: false)
            },
            LayerExample("DepthwiseConv2D from its Keras config (m=2 same)") {
                try DepthwiseConv2D(config: LayerConfig(["kernel_size": 3, "depth_multiplier": 2, "padding": "same"]))
            },
        ]
    }
}
