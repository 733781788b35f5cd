import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// A transposed-convolution case: kernel, strides, padding and input size.
private struct TransposeCase: CustomStringConvertible {
    var kernel: [Int]
    var strides: [Int] = [1, 1]
    var same = false
    var size: [Int]
    var channels = 3

    var config: [String: ConfigValue] {
        [
            "kernel_size": .array(kernel.map { .number(Double($0)) }),
            "strides": .array(strides.map { .number(Double($0)) }),
            "padding": .string(same ? "same" : "valid"),
        ]
    }

    var inputShape: Shape { size + [channels] }

    var description: String { "kernel \(kernel) strides \(strides) \(same ? "same" : "valid") on \(inputShape)" }

    /// Both paddings of: KERAS-FORMAT's (n, k, s) = (4,3,2), (4,4,2), (5,2,2), (4,3,1), (4,5,2)
    /// (as rows, with other columns), kernels smaller than the stride, rectangular kernels and
    /// strides, odd sizes and the pointwise (GEMM-only) case.
    static let all: [TransposeCase] = [false, true].flatMap { same in
        [
            TransposeCase(kernel: [3, 3], strides: [2, 2], same: same, size: [4, 3]),
            TransposeCase(kernel: [4, 2], strides: [2, 2], same: same, size: [4, 5]),
            TransposeCase(kernel: [2, 3], strides: [2, 1], same: same, size: [5, 3]),
            TransposeCase(kernel: [3, 3], same: same, size: [4, 5]),
            TransposeCase(kernel: [5, 4], strides: [2, 3], same: same, size: [4, 3]),
            TransposeCase(kernel: [1, 2], strides: [2, 3], same: same, size: [3, 2]),
            TransposeCase(kernel: [1, 1], same: same, size: [3, 5]),
            TransposeCase(kernel: [3, 3], strides: [2, 2], same: same, size: [1, 1], channels: 2),
        ]
    }
}

final class Conv2DTransposeTests: XCTestCase {
    private func transpose(
        _ c: TransposeCase, filters: Int = 4, useBias: Bool = true, activation: String = "linear",
        seed: UInt64
    ) throws -> Conv2DTranspose {
        var config = c.config
        config["filters"] = .number(Double(filters))
        config["use_bias"] = .bool(useBias)
        config["activation"] = .string(activation)
        return try withRandomWeights(try make(Conv2DTranspose.self, config), inputShapes: [c.inputShape], seed: seed)
    }

    private func reference(_ layer: Conv2DTranspose, _ x: Tensor, _ c: TransposeCase) -> Tensor {
        Reference.conv2DTranspose(
            input: x, kernel: layer.weights[0], bias: layer.useBias ? layer.weights[1] : nil,
            strides: c.strides, same: c.same)
    }

    func testConv2DTranspose_matchesScatterReference() throws {
        for (k, c) in TransposeCase.all.enumerated() {
            for useBias in [true, false] {
                let layer = try transpose(c, useBias: useBias, seed: UInt64(k) + 1)
                let x = batch(3, c.inputShape, seed: UInt64(k) + 100)
                let expected = reference(layer, x, c)
                assertClose(try evaluate(layer, x), expected, tolerance: 1e-5, "\(c), bias \(useBias)")
                XCTAssertEqual(try layer.outputShape(for: [c.inputShape]), Array(expected.shape.dropFirst()), "\(c)")
            }
        }
    }

    func testConv2DTranspose_outputSizesFollowKeras() throws {
        // (n, k, s) -> valid (n - 1) s + max(k, s), same n s.
        let expected: [(n: Int, k: Int, s: Int, valid: Int, same: Int)] = [
            (4, 3, 2, 9, 8), (4, 4, 2, 10, 8), (5, 2, 2, 10, 10), (4, 3, 1, 6, 4), (4, 5, 2, 11, 8),
            (3, 1, 2, 6, 6), (3, 2, 3, 9, 9), (1, 3, 2, 3, 2),
        ]
        for e in expected {
            for (same, length) in [(false, e.valid), (true, e.same)] {
                let layer = try make(
                    Conv2DTranspose.self,
                    [
                        "filters": 2, "kernel_size": [.number(Double(e.k)), 1],
                        "strides": [.number(Double(e.s)), 1], "padding": .string(same ? "same" : "valid"),
                    ])
                XCTAssertEqual(try layer.outputShape(for: [[e.n, 3, 5]]), [length, 3, 2], "\(e), same \(same)")
            }
        }
    }

    func testConv2DTranspose_handComputed() throws {
        // One row: x = [1, 2], kernel taps [1, 10, 100], stride 2. The scatter (no flip) fills
        // full = [1, 10, 100 + 2, 20, 200]; valid keeps it all, same keeps the first n * s = 4
        // (floor((3 - 2) / 2) = 0 cropped at the start, 1 at the end).
        let x = Tensor.literal([1, 1, 2, 1], [1, 2])
        let taps = Tensor.literal([1, 3, 1, 1], [1, 10, 100])
        for (padding, expected) in [("valid", [1, 10, 102, 20, 200] as [Float]), ("same", [1, 10, 102, 20])] {
            var layer = try make(
                Conv2DTranspose.self,
                [
                    "filters": 1, "kernel_size": [1, 3], "strides": [1, 2], "padding": .string(padding),
                    "use_bias": false,
                ])
            layer.weights = [taps]
            XCTAssertEqual(try evaluate(layer, x), Tensor.literal([1, 1, expected.count, 1], expected), padding)
        }
        // Stride 1, kernel 3, same: full = [1, 12, 123, 230, 300] for x = [1, 2, 3], cropped by 1 at each end.
        var same = try make(
            Conv2DTranspose.self, ["filters": 1, "kernel_size": [1, 3], "padding": "same", "use_bias": false])
        same.weights = [taps]
        XCTAssertEqual(
            try evaluate(same, Tensor.literal([1, 1, 3, 1], [1, 2, 3])), Tensor.literal([1, 1, 3, 1], [12, 123, 230]))
        // Kernel 1 < stride 2, valid: Keras's output is n * s long; the gaps only get the bias.
        var sparse = try make(Conv2DTranspose.self, ["filters": 1, "kernel_size": 1, "strides": [1, 2]])
        sparse.weights = [Tensor.literal([1, 1, 1, 1], [5]), Tensor.literal([1], [0.5])]
        XCTAssertEqual(try evaluate(sparse, x), Tensor.literal([1, 1, 4, 1], [5.5, 0.5, 10.5, 0.5]))
        // 2x2 kernel, stride 2: each pixel stamps its own block, unflipped.
        var blocks = try make(Conv2DTranspose.self, ["filters": 1, "kernel_size": 2, "strides": 2, "use_bias": false])
        blocks.weights = [Tensor.literal([2, 2, 1, 1], [1, 10, 100, 1000])]
        XCTAssertEqual(
            try evaluate(blocks, Tensor.literal([1, 2, 2, 1], [1, 2, 3, 4])),
            Tensor.literal(
                [1, 4, 4, 1],
                [
                    1, 10, 2, 20,
                    100, 1000, 200, 2000,
                    3, 30, 4, 40,
                    300, 3000, 400, 4000,
                ]))
        // The kernel is [kh, kw, out, in]: output o = sum over c of x[c] * kernel[0, 0, o, c].
        var channels = try make(Conv2DTranspose.self, ["filters": 2, "kernel_size": 1, "use_bias": false])
        channels.weights = [Tensor.literal([1, 1, 2, 3], [1, 10, 100, 1000, 0, 0])]
        XCTAssertEqual(
            try evaluate(channels, Tensor.literal([1, 1, 1, 3], [1, 2, 3])), Tensor.literal([1, 1, 1, 2], [321, 1000]))
    }

    func testConv2DTranspose_gradientCheck() throws {
        for (k, c) in TransposeCase.all.enumerated() {
            let layer = try transpose(c, filters: 3, seed: UInt64(k) + 200)
            try checkGradients(layer, inputs: [batch(2, c.inputShape, seed: UInt64(k) + 300)], label: "\(c)")
        }
        let noBias = try transpose(TransposeCase.all[1], useBias: false, seed: 7)
        try checkGradients(noBias, inputs: [batch(2, TransposeCase.all[1].inputShape, seed: 8)], label: "no bias")
    }

    func testConv2DTranspose_everyFusedActivation_forwardAndGradients() throws {
        let c = TransposeCase(kernel: [3, 3], strides: [2, 2], same: true, size: [3, 4])
        for activation in ActivationFunction.allCases {
            let seed = try kinkFreeSeed(kinks: activation.kinks) { seed in
                try evaluate(try self.transpose(c, filters: 3, seed: seed), batch(2, c.inputShape, seed: seed + 1000))
            }
            let layer = try transpose(c, filters: 3, activation: activation.kerasName, seed: seed)
            let x = batch(2, c.inputShape, seed: seed + 1000)
            assertClose(
                try evaluate(layer, x), Reference.activation(activation.kerasName, reference(layer, x, c)),
                tolerance: 1e-5,
                "\(activation)")
            try checkGradients(layer, inputs: [x], label: "\(activation)")
        }
    }

    func testConv2DTranspose_batchSplitIntoSlices_matchesPerSampleResults() throws {
        let c = TransposeCase(kernel: [3, 3], strides: [2, 2], same: true, size: [6, 7], channels: 5)
        let layer = try transpose(c, filters: 3, seed: 11)
        let x = batch(5, c.inputShape, seed: 12)
        try assertBatchMatchesSamples(layer, x, gradientSeed: 13, kernelMessage: "kernel gradient summed over samples")
    }

    func testConv2DTranspose_weightShapesMacsAndInitialisation() throws {
        let layer = try make(
            Conv2DTranspose.self, ["filters": 5, "kernel_size": [3, 2], "strides": 2, "padding": "same"])
        XCTAssertEqual(layer.weightNames, ["kernel", "bias"])
        XCTAssertEqual(try layer.weightShapes(for: [[4, 6, 3]]), [[3, 2, 5, 3], [5]], "out before in")
        let out = try layer.outputShape(for: [[4, 6, 3]])
        XCTAssertEqual(out, [8, 12, 5])
        XCTAssertEqual(layer.macs(inputShapes: [[4, 6, 3]], outputShape: out), 4 * 6 * 3 * 6 * 5)
        var random = SeededRandom(seed: 3)
        let weights = try layer.initialWeights(for: [[4, 6, 3]], random: &random)
        let limit = Float((6.0 / Double(6 * 5 + 6 * 3)).squareRoot())
        XCTAssertTrue(weights[0].scalars.allSatisfy { abs($0) <= limit })
        XCTAssertGreaterThan(weights[0].scalars.map(abs).max()!, limit * 0.8)
        XCTAssertEqual(weights[1], Tensor(shape: [5]))
        let noBias = try make(Conv2DTranspose.self, ["filters": 5, "kernel_size": 3, "use_bias": false])
        XCTAssertEqual(noBias.weightNames, ["kernel"])
        XCTAssertEqual(try noBias.weightShapes(for: [[4, 6, 3]]), [[3, 3, 5, 3]])
    }

    func testConv2DTranspose_configRoundTripWithOnlyKerasArguments() throws {
        for c in TransposeCase.all {
            assertConfigRoundTrip(try transpose(c, seed: 1))
        }
        for activation in ActivationFunction.allCases {
            assertConfigRoundTrip(
                try transpose(TransposeCase.all[0], useBias: false, activation: activation.kerasName, seed: 1))
        }
        let layer = try make(
            Conv2DTranspose.self, ["filters": 2, "kernel_size": 3, "output_padding": .null, "dilation_rate": 1])
        XCTAssertEqual(
            Set(layer.config.values.keys),
            [
                "filters", "kernel_size", "strides", "padding", "output_padding", "data_format",
                "dilation_rate", "activation", "use_bias",
            ])
        XCTAssertEqual(layer.config["output_padding"], .null)
        XCTAssertEqual(layer.config["dilation_rate"], [1, 1])
    }

    func testConv2DTranspose_rejectsBadConfigAndInputs() throws {
        assertThrows(
            try make(Conv2DTranspose.self, ["kernel_size": 3]), "attribute 'filters' is missing (expected an integer)")
        assertThrows(
            try make(Conv2DTranspose.self, ["filters": 0, "kernel_size": 3]),
            "attribute 'filters' is 0, expected a positive integer")
        assertThrows(
            try make(Conv2DTranspose.self, ["filters": 2, "kernel_size": 3, "padding": "full"]),
            "attribute 'padding' is \"full\", expected one of \"valid\", \"same\"")
        assertThrows(
            try make(Conv2DTranspose.self, ["filters": 2, "kernel_size": 3, "data_format": "channels_first"]),
            "attribute 'data_format' is \"channels_first\", expected \"channels_last\" (NHWC)")
        assertThrows(
            try make(Conv2DTranspose.self, ["filters": 2, "kernel_size": 3, "dilation_rate": 2]),
            "Conv2DTranspose with dilation_rate [2, 2] is not supported; only [1, 1]")
        assertThrows(
            try make(Conv2DTranspose.self, ["filters": 2, "kernel_size": 3, "strides": 2, "output_padding": [1, 1]]),
            "Conv2DTranspose with output_padding [1, 1] is not supported; only null")
        assertThrows(
            try make(Conv2DTranspose.self, ["filters": 2, "kernel_size": 3, "output_padding": 0]),
            "Conv2DTranspose with output_padding 0 is not supported; only null")
        let layer = try make(Conv2DTranspose.self, ["filters": 2, "kernel_size": 3])
        assertThrows(try layer.outputShape(for: [[5, 7, 3], [5, 7, 3]]), "expects 1 input(s), got 2")
        assertThrows(try layer.outputShape(for: [[12]]), "expects an image input [height, width, channels], got [12]")
        let built = try withRandomWeights(layer, inputShapes: [[5, 7, 3]], seed: 1)
        assertThrows(
            try built.forward([Tensor(shape: [1, 5, 7, 2])], context: .inference),
            "Conv2DTranspose with a kernel for 3 input channels got input [1, 5, 7, 2]")
        let tanh = try transpose(TransposeCase.all[0], activation: "tanh", seed: 2)
        let x = batch(1, TransposeCase.all[0].inputShape, seed: 3)
        let inference = try tanh.forward([x], context: .inference)
        assertThrows(
            try tanh.backward(inference.value, inputs: [x], output: inference, context: .inference),
            "backward was called without a training-mode forward pass")
    }

    // MARK: - Surgery

    func testPruning_slicesKernelAxis2ForOutputsAndAxis3ForInputs() throws {
        let layer = try transpose(TransposeCase.all[0], filters: 4, seed: 5)
        let pruned = try XCTUnwrap(
            try layer.pruned(keptInputs: [[0, 2]], keptOutputs: [1, 2, 3], inputShapes: [[4, 3, 3]]) as? Conv2DTranspose
        )
        XCTAssertEqual(pruned.filters, 3)
        XCTAssertEqual(
            pruned.weights[0], layer.weights[0].selecting([1, 2, 3], alongAxis: 2).selecting([0, 2], alongAxis: 3))
        XCTAssertEqual(pruned.weights[1], layer.weights[1].selecting([1, 2, 3], alongAxis: 0))
        XCTAssertEqual(pruned.config["strides"], layer.config["strides"])
        XCTAssertEqual(layer.weightChannelAxes, [WeightChannelAxes(output: 2, input: 3), WeightChannelAxes(output: 0)])
        XCTAssertNil(try layer.foldingConstantInputs([0: 1], inputShapes: [[4, 3, 3]]))
    }
}
