import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// A sliding-window case shared by the Conv2D and DepthwiseConv2D tests.
struct WindowCase: CustomStringConvertible {
    var kernel: [Int]
    var strides: [Int] = [1, 1]
    var dilation: [Int] = [1, 1]
    var same = false
    var size: [Int]
    var channels = 3

    var config: [String: ConfigValue] {
        [
            "kernel_size": .array(kernel.map { .number(Double($0)) }),
            "strides": .array(strides.map { .number(Double($0)) }),
            "dilation_rate": .array(dilation.map { .number(Double($0)) }),
            "padding": .string(same ? "same" : "valid"),
        ]
    }

    var inputShape: Shape { size + [channels] }

    var description: String {
        "kernel \(kernel) strides \(strides) dilation \(dilation) \(same ? "same" : "valid") on \(inputShape)"
    }

    /// Odd and even sizes, strides 2 with 'same' on both, dilation, rectangular kernels,
    /// pointwise (the GEMM-only path) and strided pointwise.
    static let all: [WindowCase] = [
        WindowCase(kernel: [3, 3], size: [5, 7]),
        WindowCase(kernel: [3, 3], same: true, size: [5, 7]),
        WindowCase(kernel: [3, 3], strides: [2, 2], same: true, size: [5, 7]),
        WindowCase(kernel: [3, 3], strides: [2, 2], same: true, size: [6, 8]),
        WindowCase(kernel: [2, 2], strides: [2, 2], same: true, size: [5, 7]),
        WindowCase(kernel: [3, 3], strides: [2, 2], size: [6, 7]),
        WindowCase(kernel: [3, 3], dilation: [2, 2], same: true, size: [5, 7]),
        WindowCase(kernel: [3, 2], dilation: [2, 1], size: [7, 5]),
        WindowCase(kernel: [2, 3], strides: [1, 2], size: [5, 7]),
        WindowCase(kernel: [4, 4], strides: [3, 3], same: true, size: [5, 7]),
        WindowCase(kernel: [1, 1], size: [5, 7]),
        WindowCase(kernel: [1, 1], strides: [2, 2], same: true, size: [5, 7]),
        WindowCase(kernel: [3, 3], same: true, size: [1, 1], channels: 2),
    ]
}

final class Conv2DTests: XCTestCase {
    private func conv(
        _ c: WindowCase, filters: Int = 4, useBias: Bool = true, activation: String = "linear", seed: UInt64
    ) throws -> Conv2D {
        var config = c.config
        config["filters"] = .number(Double(filters))
        config["use_bias"] = .bool(useBias)
        config["activation"] = .string(activation)
        return try withRandomWeights(try make(Conv2D.self, config), inputShapes: [c.inputShape], seed: seed)
    }

    func testConv2D_matchesDirectConvolution() throws {
        for (k, c) in WindowCase.all.enumerated() {
            for useBias in [true, false] {
                let layer = try conv(c, useBias: useBias, seed: UInt64(k) + 1)
                let x = batch(2, c.inputShape, seed: UInt64(k) + 100)
                let expected = Reference.conv2D(
                    input: x, kernel: layer.weights[0], bias: useBias ? layer.weights[1] : nil,
                    strides: c.strides, dilation: c.dilation, same: c.same)
                assertClose(try evaluate(layer, x), expected, tolerance: 1e-5, "\(c), bias \(useBias)")
                XCTAssertEqual(try layer.outputShape(for: [c.inputShape]), Array(expected.shape.dropFirst()), "\(c)")
            }
        }
    }

    func testConv2D_handComputed() throws {
        // 3x3 single-channel input, 2x2 kernel of ones plus bias 0.5, valid: sums of 2x2 blocks.
        var layer = try make(Conv2D.self, ["filters": 1, "kernel_size": 2])
        layer.weights = [Tensor(shape: [2, 2, 1, 1], repeating: 1), Tensor.literal([1], [0.5])]
        let x = Tensor.literal([1, 3, 3, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9])
        XCTAssertEqual(try evaluate(layer, x), Tensor.literal([1, 2, 2, 1], [12.5, 16.5, 24.5, 28.5]))
    }

    func testConv2DSame_padsLikeTensorFlow() throws {
        // Even input, stride 2, kernel 3: total padding 1 goes to the bottom/right only, so
        // output (0, 0) reads input rows/columns 0...2 (no top/left padding).
        var layer = try make(
            Conv2D.self, ["filters": 1, "kernel_size": 3, "strides": 2, "padding": "same", "use_bias": false])
        var kernel = Tensor(shape: [3, 3, 1, 1])
        kernel.scalars[0] = 1  // top-left tap only
        layer.weights = [kernel]
        let x = Tensor.literal([1, 4, 4, 1], (1...16).map(Float.init))
        // Top-left tap of window (oy, ox) reads input (2 oy, 2 ox).
        XCTAssertEqual(try evaluate(layer, x), Tensor.literal([1, 2, 2, 1], [1, 3, 9, 11]))
    }

    func testConv2D_gradientCheck() throws {
        for (k, c) in WindowCase.all.enumerated() {
            let layer = try conv(c, filters: 3, seed: UInt64(k) + 200)
            let x = batch(2, c.inputShape, seed: UInt64(k) + 300)
            try checkGradients(layer, inputs: [x], label: "\(c)")
        }
        let noBias = try conv(WindowCase.all[2], useBias: false, seed: 7)
        try checkGradients(noBias, inputs: [batch(2, WindowCase.all[2].inputShape, seed: 8)])
    }

    func testConv2D_everyFusedActivation_forwardAndGradients() throws {
        let c = WindowCase(kernel: [3, 3], strides: [2, 2], same: true, size: [5, 6])
        for activation in ActivationFunction.allCases {
            // Pick weights and inputs whose pre-activations stay clear of the activation's kinks.
            let seed = try kinkFreeSeed(kinks: activation.kinks) { seed in
                try evaluate(try self.conv(c, filters: 3, seed: seed), batch(2, c.inputShape, seed: seed + 1000))
            }
            let layer = try conv(c, filters: 3, activation: activation.kerasName, seed: seed)
            let x = batch(2, c.inputShape, seed: seed + 1000)
            let z = Reference.conv2D(
                input: x, kernel: layer.weights[0], bias: layer.weights[1], strides: c.strides, same: true)
            assertClose(
                try evaluate(layer, x), Reference.activation(activation.kerasName, z), tolerance: 1e-5, "\(activation)")
            try checkGradients(layer, inputs: [x], label: "\(activation)")
        }
    }

    func testConv2D_batchSplitIntoIm2colChunks_matchesPerSampleResults() throws {
        // 128x128x32 with a 3x3 kernel needs 16384 x 288 floats of im2col per sample, more than
        // half of Convolution's chunk budget: the batch of 3 runs as 3 chunks, and the kernel
        // gradient accumulates over them (beta = 1). That is the reference backend's path.
        let saved = ConvolutionBackend.current
        defer { ConvolutionBackend.current = saved }
        ConvolutionBackend.current = .reference
        let c = WindowCase(kernel: [3, 3], same: true, size: [128, 128], channels: 32)
        let layer = try conv(c, filters: 2, seed: 11)
        let x = batch(3, c.inputShape, seed: 12)
        try assertBatchMatchesSamples(layer, x, gradientSeed: 13, kernelMessage: "kernel gradient summed over chunks")
    }

    func testConv2D_weightsShapesAndGlorotInitialisation() throws {
        let layer = try make(Conv2D.self, ["filters": 8, "kernel_size": [3, 2]])
        XCTAssertEqual(layer.weightNames, ["kernel", "bias"])
        XCTAssertEqual(try layer.weightShapes(for: [[5, 7, 3]]), [[3, 2, 3, 8], [8]])
        var random = SeededRandom(seed: 1)
        let weights = try layer.initialWeights(for: [[5, 7, 3]], random: &random)
        let limit = Float((6.0 / Double(3 * 2 * 3 + 3 * 2 * 8)).squareRoot())
        XCTAssertTrue(weights[0].scalars.allSatisfy { abs($0) <= limit })
        XCTAssertGreaterThan(weights[0].scalars.map(abs).max()!, limit * 0.8)
        XCTAssertEqual(weights[1], Tensor(shape: [8]))
        var built = layer
        built.weights = weights
        XCTAssertEqual(built.trainableWeightCount, 2)
        let noBias = try make(Conv2D.self, ["filters": 8, "kernel_size": 3, "use_bias": false])
        XCTAssertEqual(noBias.weightNames, ["kernel"])
        XCTAssertEqual(try noBias.weightShapes(for: [[5, 7, 3]]), [[3, 3, 3, 8]])
    }

    func testConv2D_macs() throws {
        let layer = try make(Conv2D.self, ["filters": 8, "kernel_size": 3, "strides": 2, "padding": "same"])
        let out = try layer.outputShape(for: [[5, 7, 3]])
        XCTAssertEqual(out, [3, 4, 8])
        XCTAssertEqual(layer.macs(inputShapes: [[5, 7, 3]], outputShape: out), 3 * 4 * 8 * 9 * 3)
    }

    func testConv2D_configRoundTrip() throws {
        for c in WindowCase.all {
            assertConfigRoundTrip(try conv(c, seed: 1))
        }
        for activation in ActivationFunction.allCases {
            assertConfigRoundTrip(
                try conv(WindowCase.all[0], useBias: false, activation: activation.kerasName, seed: 1))
        }
        let layer = try make(Conv2D.self, ["filters": 2, "kernel_size": 3, "activation": "silu"])
        XCTAssertEqual(layer.activation, .swish)
        XCTAssertEqual(layer.config["kernel_size"], [3, 3])
        XCTAssertEqual(layer.config["strides"], [1, 1])
        XCTAssertEqual(layer.config["padding"], "valid")
    }

    func testConv2D_rejectsBadConfig() {
        assertThrows(try make(Conv2D.self, ["kernel_size": 3]), "attribute 'filters' is missing (expected an integer)")
        assertThrows(
            try make(Conv2D.self, ["filters": 0, "kernel_size": 3]),
            "attribute 'filters' is 0, expected a positive integer")
        assertThrows(try make(Conv2D.self, ["filters": 2]), "attribute 'kernel_size' is missing (expected 2 integers)")
        assertThrows(
            try make(Conv2D.self, ["filters": 2, "kernel_size": 3, "padding": "full"]),
            "attribute 'padding' is \"full\", expected one of \"valid\", \"same\"")
        assertThrows(
            try make(Conv2D.self, ["filters": 2, "kernel_size": 3, "data_format": "channels_first"]),
            "attribute 'data_format' is \"channels_first\", expected \"channels_last\" (NHWC)")
        assertThrows(
            try make(Conv2D.self, ["filters": 3, "kernel_size": 3, "groups": 2]),
            "attribute 'groups' is 2, expected a divisor of filters (3)")
        assertThrows(
            try make(Conv2D.self, ["filters": 2, "kernel_size": 3, "groups": 0]),
            "attribute 'groups' is 0, expected a positive integer")
        assertThrows(
            try make(Conv2D.self, ["filters": 2, "kernel_size": 3, "activation": "celu"]),
            containing: ["attribute 'activation' is \"celu\"", "relu", "silu", "hard_swish"])
    }

    func testConv2D_rejectsBadInputs() throws {
        let layer = try make(Conv2D.self, ["filters": 2, "kernel_size": 3])
        assertThrows(try layer.outputShape(for: [[5, 7, 3], [5, 7, 3]]), "expects 1 input(s), got 2")
        assertThrows(try layer.outputShape(for: [[12]]), "expects an image input [height, width, channels], got [12]")
        assertThrows(
            try layer.outputShape(for: [[2, 7, 3]]),
            "a 3x3 window (dilation [1, 1]) does not fit a 2x7 input with padding 'valid'")
        assertThrows(
            try make(Conv2D.self, ["filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2]),
            "strides > 1 together with dilation_rate > 1 is not supported (Keras refuses it too)")
        assertThrows(
            try make(Conv2D.self, ["filters": 2, "kernel_size": [3, 0]]),
            "attribute 'kernel_size' is [3, 0], expected 2 positive integers")
    }

    func testConv2D_backwardWithoutTrainingForwardNeedsTheCache() throws {
        let c = WindowCase.all[0]
        let layer = try conv(c, activation: "tanh", seed: 3)
        let x = batch(1, c.inputShape, seed: 4)
        let inference = try layer.forward([x], context: .inference)
        assertThrows(
            try layer.backward(inference.value, inputs: [x], output: inference, context: .inference),
            "backward was called without a training-mode forward pass")
    }
}
