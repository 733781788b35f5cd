import SurgeonCore

/// Keras `Conv2DTranspose`: kernel `[kh, kw, filters, in]` (**out before in**), optional bias
/// `[filters]`, optional fused activation. Scatter form, no kernel flip (KERAS-FORMAT 5.2):
/// `full[n, i*s + a, j*s + b, o] += x[n, i, j, c] * kernel[a, b, o, c]`, then
/// - `valid`: the output is `(n - 1) * s + max(k, s)` long: `full`, followed by `s - k` cells
///   that only get the bias when `k < s`;
/// - `same`: the output is `n * s` long, starting `floor(max(k - s, 0) / 2)` cells into `full`.
///
/// That is the adjoint of a Conv2D with the same kernel, strides and padding on an input of the
/// output's size, which is how it runs (`TransposedConvolution`). Only `output_padding: null`
/// and `dilation_rate: 1` are supported. MACs: `H * W * in * kh * kw * filters`.
public struct Conv2DTranspose: Layer {
    public static let kerasClassName = "Conv2DTranspose"
    public let filters: Int
    public let window: WindowOptions
    public let useBias: Bool
    public let activation: ActivationFunction
    public var weights: [Tensor] = []

    public init(
        filters: Int, kernelSize: [Int], strides: [Int] = [1, 1], padding: Padding = .valid,
        useBias: Bool = true, activation: ActivationFunction = .linear
    ) {
        self.filters = filters
        self.window = WindowOptions(size: kernelSize, strides: strides, padding: padding)
        self.useBias = useBias
        self.activation = activation
    }

    public init(config: LayerConfig) throws {
        filters = try config.positiveInt("filters")
        window = try WindowOptions(config: config, sizeKey: "kernel_size")
        guard window.dilation == [1, 1] else {
            throw LayerError.unsupported(
                "Conv2DTranspose with dilation_rate \(window.dilation) is not supported; only [1, 1]")
        }
        if let outputPadding = config["output_padding"], outputPadding != .null {
            throw LayerError.unsupported(
                "Conv2DTranspose with output_padding \(outputPadding) is not supported; only null")
        }
        useBias = try config.bool("use_bias", default: true)
        activation = try config.activation()
    }

    /// Keras 3's Conv2DTranspose takes no `groups`, so none is written.
    public var config: LayerConfig {
        var c = LayerConfig([
            "filters": .number(Double(filters)), "use_bias": .bool(useBias),
            "activation": .string(activation.rawValue), "output_padding": .null,
        ])
        window.write(to: &c, sizeKey: "kernel_size")
        return c
    }

    public var weightNames: [String] { useBias ? ["kernel", "bias"] : ["kernel"] }

    public var producesProbabilities: Bool { activation == .softmax }
    public var rectifiesOutput: Bool { activation.isRectifier }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let g = try geometry(for: try singleInput(inputShapes))
        return [g.inputHeight, g.inputWidth, filters]
    }

    public func weightShapes(for inputShapes: [Shape]) throws -> [Shape] {
        let input = try singleInput(inputShapes)
        guard input.count == 3 else {
            throw LayerError.inputShape("expects an image input [height, width, channels], got \(input)")
        }
        let kernel = window.size + [filters, input[2]]
        return useBias ? [kernel, [filters]] : [kernel]
    }

    /// Keras's glorot_uniform fans for a 4-D kernel are receptive field x dims 2 and 3, here
    /// `kh*kw*filters` and `kh*kw*in` (their sum, all that matters, is as for Conv2D).
    public func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] {
        let shapes = try weightShapes(for: inputShapes)
        let area = window.size[0] * window.size[1]
        let kernel = Tensor.glorotUniform(
            shape: shapes[0], fanIn: area * filters, fanOut: area * shapes[0][3], random: &random)
        return useBias ? [kernel, Tensor(shape: [filters])] : [kernel]
    }

    public func macs(inputShapes: [Shape], outputShape: Shape) -> Int {
        guard let input = inputShapes.first, input.count == 3 else { return 0 }
        return input[0] * input[1] * input[2] * window.size[0] * window.size[1] * filters
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try singleInput(inputs)
        let g = try checkedGeometry(x)
        var z = TransposedConvolution.forward(input: x, kernel: weights[0], geometry: g)
        if useBias { z.addChannelBias(weights[1]) }
        let y = activation.apply(z)
        return LayerOutput(y, cache: context.training && activation != .linear ? z : nil)
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try singleInput(inputs)
        let g = try checkedGeometry(x)
        let dz = try fusedActivationGradient(activation, outputGradient, output)
        let (dx, dk) = TransposedConvolution.backward(outputGradient: dz, input: x, kernel: weights[0], geometry: g)
        return LayerGradients(inputs: [dx!], weights: useBias ? [dk, dz.channelSums()] : [dk])
    }

    /// The output length along one axis for an input of length `n` (Keras's
    /// `deconv_output_length` with `output_padding` None).
    static func outputLength(_ n: Int, kernel k: Int, stride s: Int, padding: Padding) -> Int {
        padding == .same ? n * s : (n - 1) * s + max(k, s)
    }

    /// The geometry of the adjoint Conv2D, whose input is this layer's output `[L, L', filters]`
    /// and whose output is this layer's input `[H, W, in]`.
    func geometry(for input: Shape) throws -> ConvGeometry {
        guard input.count == 3, input[0] > 0, input[1] > 0 else {
            throw LayerError.inputShape("expects an image input [height, width, channels], got \(input)")
        }
        let height = Self.outputLength(
            input[0], kernel: window.size[0], stride: window.strides[0], padding: window.padding)
        let width = Self.outputLength(
            input[1], kernel: window.size[1], stride: window.strides[1], padding: window.padding)
        let g = try ConvGeometry(
            inputHeight: height, inputWidth: width, kernel: window.size, strides: window.strides,
            padding: window.padding)
        guard g.outputHeight == input[0], g.outputWidth == input[1] else {
            throw LayerError.inputShape(
                "Conv2DTranspose: no adjoint convolution maps \([height, width]) back to \(input)")
        }
        return g
    }

    private func checkedGeometry(_ x: Tensor) throws -> ConvGeometry {
        guard x.rank == 4, x.shape[3] == weights[0].shape[3] else {
            throw LayerError.inputShape(
                "Conv2DTranspose with a kernel for \(weights[0].shape[3]) input channels got input \(x.shape)")
        }
        return try geometry(for: Array(x.shape.dropFirst()))
    }
}

// MARK: - Surgery

/// No constant folding (`foldingConstantInputs` stays nil): a constant input reaches each output
/// cell through a different set of taps (by position modulo the stride, and at the borders), so
/// its contribution is not a bias.
extension Conv2DTranspose: SurgeryRule {
    /// Each filter is a new channel; a softmax over filters couples them all, so it pins them.
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .fresh }

    public var outputChannelsArePrunable: Bool { activation != .softmax }

    /// Slices the kernel `[kh, kw, out, in]` on axis 2 (filters) and 3 (inputs), the bias on `out`.
    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        var layer = Conv2DTranspose(
            filters: keptOutputs.count, kernelSize: window.size, strides: window.strides,
            padding: window.padding, useBias: useBias, activation: activation)
        layer.weights =
            [weights[0].selecting(rows: keptOutputs, columns: try singleInput(keptInputs))]
            + (useBias ? [weights[1].selecting(keptOutputs, alongAxis: 0)] : [])
        return layer
    }

    public var weightChannelAxes: [WeightChannelAxes] {
        [WeightChannelAxes(output: 2, input: 3)] + (useBias ? [WeightChannelAxes(output: 0)] : [])
    }
}

// MARK: - Examples

extension Conv2DTranspose {
    public static var examples: [LayerExample] {
        [
            LayerExample("Conv2DTranspose 3x3 stride 2 same relu") {
                Conv2DTranspose(filters: 5, kernelSize: [3, 3], strides: [2, 2], padding: .same, activation: .relu)
            },
            LayerExample("Conv2DTranspose 2x2 stride 2 valid no bias") {
                Conv2DTranspose(filters: 3, kernelSize: [2, 2], strides: [2, 2], useBias: false)
            },
            LayerExample("Conv2DTranspose 3x2 stride 1 valid tanh") {
                Conv2DTranspose(filters: 4, kernelSize: [3, 2], activation: .tanh)
            },
            LayerExample("Conv2DTranspose kernel 1 < stride 2") {
                Conv2DTranspose(filters: 4, kernelSize: [1, 1], strides: [2, 2], padding: .same)
            },
            LayerExample("Conv2DTranspose from its Keras config (stride 2 same)") {
                try Conv2DTranspose(
                    config: LayerConfig([
                        "filters": 4, "kernel_size": 3, "strides": 2, "padding": "same",
                        "output_padding": .null,
                    ]))
            },
        ]
    }
}
