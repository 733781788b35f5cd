import SurgeonCore

/// Keras `SeparableConv2D`: a depthwise convolution (kernel `depthwise_kernel [kh, kw, in,
/// depth_multiplier]`, no bias) followed by a 1x1 convolution (`pointwise_kernel [1, 1, in *
/// depth_multiplier, filters]`), then the optional bias `[filters]` and a fused activation.
///
/// Pointwise row `c * depth_multiplier + m` reads depthwise channel `m` of input channel `c`
/// (KERAS-FORMAT 5.2). MACs: the depthwise step's plus the pointwise step's.
public struct SeparableConv2D: Layer {
    public static let kerasClassName = "SeparableConv2D"
    public let filters: Int
    public let window: WindowOptions
    public let depthMultiplier: Int
    public let useBias: Bool
    public let activation: ActivationFunction
    public var weights: [Tensor] = []

    public init(
        filters: Int, kernelSize: [Int], strides: [Int] = [1, 1], padding: Padding = .valid, depthMultiplier: Int = 1,
        dilationRate: [Int] = [1, 1], useBias: Bool = true, activation: ActivationFunction = .linear
    ) {
        self.filters = filters
        self.window = WindowOptions(size: kernelSize, strides: strides, padding: padding, dilation: dilationRate)
        self.depthMultiplier = depthMultiplier
        self.useBias = useBias
        self.activation = activation
    }

    public init(config: LayerConfig) throws {
        filters = try config.positiveInt("filters")
        window = try WindowOptions(config: config, sizeKey: "kernel_size")
        depthMultiplier = try config.positiveInt("depth_multiplier", default: 1)
        useBias = try config.bool("use_bias", default: true)
        activation = try config.activation()
    }

    /// Keras 3's SeparableConv2D takes no `groups` and no `kernel_*` arguments (its initialisers
    /// are `depthwise_*` and `pointwise_*`), so none is written.
    public var config: LayerConfig {
        var c = LayerConfig([
            "filters": .number(Double(filters)), "depth_multiplier": .number(Double(depthMultiplier)),
            "use_bias": .bool(useBias), "activation": .string(activation.rawValue),
        ])
        window.write(to: &c, sizeKey: "kernel_size")
        return c
    }

    public var weightNames: [String] { ["depthwise_kernel", "pointwise_kernel"] + (useBias ? ["bias"] : []) }

    public var producesProbabilities: Bool { activation == .softmax }
    public var rectifiesOutput: Bool { activation.isRectifier }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let g = try window.geometry(for: try singleInput(inputShapes))
        return [g.outputHeight, g.outputWidth, filters]
    }

    public func weightShapes(for inputShapes: [Shape]) throws -> [Shape] {
        let channels = try singleInput(inputShapes)[2]
        let shapes = [window.size + [channels, depthMultiplier], [1, 1, channels * depthMultiplier, filters]]
        return useBias ? shapes + [[filters]] : shapes
    }

    /// glorot_uniform on both kernels with Keras's fans (receptive field x dims 2 and 3):
    /// depthwise `kh*kw*in` and `kh*kw*multiplier`, pointwise `in*multiplier` and `filters`.
    public func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] {
        let shapes = try weightShapes(for: inputShapes)
        let area = window.size[0] * window.size[1], channels = shapes[0][2]
        let depthwise = Tensor.glorotUniform(
            shape: shapes[0], fanIn: area * channels, fanOut: area * depthMultiplier, random: &random)
        let pointwise = Tensor.glorotUniform(
            shape: shapes[1], fanIn: channels * depthMultiplier, fanOut: filters, random: &random)
        return [depthwise, pointwise] + (useBias ? [Tensor(shape: [filters])] : [])
    }

    public func macs(inputShapes: [Shape], outputShape: Shape) -> Int {
        guard let input = inputShapes.first, input.count == 3, outputShape.count == 3 else { return 0 }
        let depthwiseOutputs = outputShape[0] * outputShape[1] * input[2] * depthMultiplier
        return depthwiseOutputs * window.size[0] * window.size[1] + depthwiseOutputs * filters
    }

    /// What a training-mode forward keeps: the depthwise output (the pointwise step's input) and
    /// the pre-activation when the activation is not linear.
    struct Cache: Sendable {
        var depthwise: Tensor
        var preActivation: Tensor?
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let (g, pointwise) = try geometries(x)
        let d = DepthwiseConvolution.forward(input: x, kernel: weights[0], geometry: g)
        var z = Convolution.forward(input: d, kernel: weights[1], geometry: pointwise)
        if useBias { z.addChannelBias(weights[2]) }
        let y = activation.apply(z)
        return LayerOutput(
            y, cache: context.training ? Cache(depthwise: d, preActivation: activation != .linear ? z : nil) : nil)
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        let (g, pointwise) = try geometries(x)
        let cache = output.cache as? Cache
        var dz = outputGradient
        if activation != .linear {
            guard let z = cache?.preActivation else { throw LayerError.missingCache }
            dz = activation.backward(outputGradient, input: z, output: output.value)
        }
        let d = cache?.depthwise ?? DepthwiseConvolution.forward(input: x, kernel: weights[0], geometry: g)
        let (dd, dPointwise) = Convolution.backward(
            outputGradient: dz, input: d, kernel: weights[1], geometry: pointwise)
        let (dx, dDepthwise) = DepthwiseConvolution.backward(
            outputGradient: dd!, input: x, kernel: weights[0], geometry: g)
        return LayerGradients(inputs: [dx!], weights: [dDepthwise, dPointwise] + (useBias ? [dz.channelSums()] : []))
    }

    /// The depthwise step's geometry and the pointwise step's (1x1 on the depthwise output),
    /// after checking that `x` and the weights agree.
    private func geometries(_ x: Tensor) throws -> (ConvGeometry, ConvGeometry) {
        guard x.rank == 4, x.shape[3] == weights[0].shape[2], weights[1].shape[2] == x.shape[3] * weights[0].shape[3]
        else {
            throw LayerError.inputShape(
                "SeparableConv2D with a depthwise kernel for \(weights[0].shape[2]) input channels got input \(x.shape)"
            )
        }
        let g = try window.geometry(for: Array(x.shape.dropFirst()))
        let pointwise = try ConvGeometry(
            inputHeight: g.outputHeight, inputWidth: g.outputWidth, kernel: [1, 1], strides: [1, 1],
            padding: .valid)
        return (g, pointwise)
    }
}

// MARK: - Surgery

extension SeparableConv2D: SurgeryRule {
    /// Each filter is a new channel; a softmax over filters couples them all, so it pins them.
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .fresh }

    public var outputChannelsArePrunable: Bool { activation != .softmax }

    /// Keeps the depthwise filters of the surviving input channels (axis 2 of the depthwise
    /// kernel), their pointwise rows `c * depth_multiplier + m`, and the surviving filters'
    /// pointwise columns and biases.
    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        let keptIn = try singleInput(keptInputs)
        let rows = keptIn.flatMap { c in (0..<depthMultiplier).map { c * depthMultiplier + $0 } }
        var layer = SeparableConv2D(
            filters: keptOutputs.count, kernelSize: window.size, strides: window.strides,
            padding: window.padding, depthMultiplier: depthMultiplier, dilationRate: window.dilation,
            useBias: useBias, activation: activation)
        layer.weights =
            [weights[0].selecting(keptIn, alongAxis: 2), weights[1].selecting(rows: rows, columns: keptOutputs)]
            + (useBias ? [weights[2].selecting(keptOutputs, alongAxis: 0)] : [])
        return layer
    }

    /// The depthwise kernel runs over input channels on axis 2; the pointwise kernel over filters
    /// on axis 3, and over input channels on axis 2 only when `depth_multiplier` is 1.
    public var weightChannelAxes: [WeightChannelAxes] {
        [WeightChannelAxes(input: 2), WeightChannelAxes(output: 3, input: depthMultiplier == 1 ? 2 : nil)]
            + (useBias ? [WeightChannelAxes(output: 0)] : [])
    }

    /// A constant input channel `c` makes depthwise channel `c * m + q` the constant times the
    /// sum of its taps, which the pointwise kernel carries into the bias: exact unless the window
    /// reads zero padding.
    public func foldingConstantInputs(
        _ constants: [Int: Float], inputShapes: [Shape]
    ) throws -> (layer: any Layer, exact: Bool)? {
        let g = try window.geometry(for: try singleInput(inputShapes))
        let depthwise = weights[0], m = depthMultiplier, taps = window.size[0] * window.size[1]
        let channels = depthwise.shape[2]
        var intermediate: [Int: Float] = [:]
        for (c, k) in constants {
            for q in 0..<m {
                var tapSum: Float = 0
                for t in 0..<taps { tapSum += depthwise.scalars[(t * channels + c) * m + q] }
                intermediate[c * m + q] = k * tapSum
            }
        }
        var layer = SeparableConv2D(
            filters: filters, kernelSize: window.size, strides: window.strides, padding: window.padding,
            depthMultiplier: m, dilationRate: window.dilation, useBias: true, activation: activation)
        var bias = useBias ? weights[2] : Tensor(shape: [filters])
        bias.add(foldedBias(kernel: weights[1], constants: intermediate))
        layer.weights = [weights[0], weights[1], bias]
        return (layer, !g.touchesPadding)
    }
}

// MARK: - Examples

extension SeparableConv2D {
    public static var examples: [LayerExample] {
        [
            LayerExample("SeparableConv2D 3x3 same relu m=1") {
                SeparableConv2D(filters: 5, kernelSize: [3, 3], padding: .same, activation: .relu)
            },
            LayerExample("SeparableConv2D 3x3 stride 2 valid m=2 no bias") {
                SeparableConv2D(filters: 4, kernelSize: [3, 3], strides: [2, 2], depthMultiplier: 2, useBias: false)
            },
            LayerExample("SeparableConv2D dilated m=3 swish") {
                SeparableConv2D(
                    filters: 3, kernelSize: [3, 2], padding: .same, depthMultiplier: 3, dilationRate: [2, 1],
                    activation: .swish)
            },
            LayerExample("SeparableConv2D from its Keras config (m=2 same relu)") {
                try SeparableConv2D(
                    config: LayerConfig([
                        "filters": 4, "kernel_size": 3, "depth_multiplier": 2, "padding": "same",
                        "activation": "relu",
                    ]))
            },
        ]
    }
}
