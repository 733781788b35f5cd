import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class SeparableConv2DTests: XCTestCase {
    private func separable(
        _ c: WindowCase, filters: Int = 4, multiplier: Int = 1, useBias: Bool = true,
        activation: String = "linear", seed: UInt64
    ) throws -> SeparableConv2D {
        var config = c.config
        config["filters"] = .number(Double(filters))
        config["depth_multiplier"] = .number(Double(multiplier))
        config["use_bias"] = .bool(useBias)
        config["activation"] = .string(activation)
        return try withRandomWeights(try make(SeparableConv2D.self, config), inputShapes: [c.inputShape], seed: seed)
    }

    private func reference(_ layer: SeparableConv2D, _ x: Tensor, _ c: WindowCase) -> Tensor {
        Reference.separableConv2D(
            input: x, depthwise: layer.weights[0], pointwise: layer.weights[1],
            bias: layer.useBias ? layer.weights[2] : nil, strides: c.strides, dilation: c.dilation, same: c.same)
    }

    func testSeparableConv2D_matchesDepthwiseThenPointwiseReference() throws {
        for (k, c) in WindowCase.all.enumerated() {
            for multiplier in [1, 2, 3] {
                let useBias = multiplier != 2
                let layer = try separable(
                    c, filters: 3, multiplier: multiplier, useBias: useBias, seed: UInt64(k) * 5 + UInt64(multiplier))
                let x = batch(2, c.inputShape, seed: UInt64(k) + 100)
                let expected = reference(layer, x, c)
                assertClose(try evaluate(layer, x), expected, tolerance: 1e-5, "\(c), multiplier \(multiplier)")
                XCTAssertEqual(try layer.outputShape(for: [c.inputShape]), Array(expected.shape.dropFirst()), "\(c)")
            }
        }
    }

    func testSeparableConv2D_pointwiseRowIsInputChannelTimesMultiplierPlusIndex() throws {
        // 1x1 depthwise kernel: depthwise channel c * 2 + m = x[c] * dw[c, m]; the pointwise
        // kernel reads row c * 2 + m into filter 0 with weight 1, 10, 100, 1000, bias 0.5.
        var layer = try make(SeparableConv2D.self, ["filters": 1, "kernel_size": 1, "depth_multiplier": 2])
        layer.weights = [
            Tensor.literal([1, 1, 2, 2], [1, 2, 3, 4]),
            Tensor.literal([1, 1, 4, 1], [1, 10, 100, 1000]),
            Tensor.literal([1], [0.5]),
        ]
        let x = Tensor.literal([1, 1, 1, 2], [2, 5])
        // [2*1, 2*2, 5*3, 5*4] . [1, 10, 100, 1000] + 0.5
        XCTAssertEqual(try evaluate(layer, x), Tensor.literal([1, 1, 1, 1], [2 + 40 + 1500 + 20000 + 0.5]))
    }

    func testSeparableConv2D_gradientCheck() throws {
        for (k, c) in WindowCase.all.enumerated() {
            for multiplier in [1, 2] {
                let layer = try separable(
                    c, filters: 3, multiplier: multiplier, seed: UInt64(k) * 3 + UInt64(multiplier) + 50)
                try checkGradients(
                    layer, inputs: [batch(2, c.inputShape, seed: UInt64(k) + 400)],
                    label: "\(c), multiplier \(multiplier)")
            }
        }
        let noBias = try separable(WindowCase.all[3], filters: 2, multiplier: 3, useBias: false, seed: 9)
        try checkGradients(noBias, inputs: [batch(2, WindowCase.all[3].inputShape, seed: 10)], label: "no bias")
    }

    func testSeparableConv2D_everyFusedActivation_forwardAndGradients() throws {
        let c = WindowCase(kernel: [3, 3], strides: [2, 2], same: true, size: [5, 6])
        for activation in ActivationFunction.allCases {
            let seed = try kinkFreeSeed(kinks: activation.kinks) { seed in
                try evaluate(
                    try self.separable(c, filters: 3, multiplier: 2, seed: seed),
                    batch(2, c.inputShape, seed: seed + 1000))
            }
            let layer = try separable(c, filters: 3, multiplier: 2, activation: activation.kerasName, seed: seed)
            let x = batch(2, c.inputShape, seed: seed + 1000)
            assertClose(
                try evaluate(layer, x), Reference.activation(activation.kerasName, reference(layer, x, c)),
                tolerance: 1e-5,
                "\(activation)")
            try checkGradients(layer, inputs: [x], label: "\(activation)")
        }
    }

    func testSeparableConv2D_linearBackwardWithoutTrainingForward_recomputesTheDepthwiseStep() throws {
        let c = WindowCase.all[2]
        let layer = try separable(c, multiplier: 2, seed: 3)
        let x = batch(2, c.inputShape, seed: 4)
        let dy = Tensor.random(shape: try evaluate(layer, x).shape, seed: 5)
        let training = ForwardContext(training: true)
        let cached = try layer.backward(
            dy, inputs: [x], output: try layer.forward([x], context: training), context: training)
        let recomputed = try layer.backward(
            dy, inputs: [x], output: try layer.forward([x], context: .inference), context: .inference)
        XCTAssertEqual(cached.inputs, recomputed.inputs)
        XCTAssertEqual(cached.weights, recomputed.weights)

        let tanh = try separable(c, activation: "tanh", seed: 3)
        let inference = try tanh.forward([x], context: .inference)
        assertThrows(
            try tanh.backward(inference.value, inputs: [x], output: inference, context: .inference),
            "backward was called without a training-mode forward pass")
    }

    func testSeparableConv2D_weightShapesMacsAndInitialisation() throws {
        let layer = try make(
            SeparableConv2D.self,
            ["filters": 5, "kernel_size": 3, "depth_multiplier": 2, "strides": 2, "padding": "same"])
        XCTAssertEqual(layer.weightNames, ["depthwise_kernel", "pointwise_kernel", "bias"])
        XCTAssertEqual(try layer.weightShapes(for: [[5, 7, 3]]), [[3, 3, 3, 2], [1, 1, 6, 5], [5]])
        let out = try layer.outputShape(for: [[5, 7, 3]])
        XCTAssertEqual(out, [3, 4, 5])
        XCTAssertEqual(layer.macs(inputShapes: [[5, 7, 3]], outputShape: out), 3 * 4 * 6 * 9 + 3 * 4 * 6 * 5)
        var random = SeededRandom(seed: 2)
        let weights = try layer.initialWeights(for: [[5, 7, 3]], random: &random)
        let depthwiseLimit = Float((6.0 / Double(9 * 3 + 9 * 2)).squareRoot())
        let pointwiseLimit = Float((6.0 / Double(6 + 5)).squareRoot())
        XCTAssertTrue(weights[0].scalars.allSatisfy { abs($0) <= depthwiseLimit })
        XCTAssertTrue(weights[1].scalars.allSatisfy { abs($0) <= pointwiseLimit })
        XCTAssertGreaterThan(
            weights[1].scalars.map(abs).max()!, depthwiseLimit, "the pointwise kernel has its own, wider limit")
        XCTAssertEqual(weights[2], Tensor(shape: [5]))
        let noBias = try make(SeparableConv2D.self, ["filters": 5, "kernel_size": 3, "use_bias": false])
        XCTAssertEqual(noBias.weightNames, ["depthwise_kernel", "pointwise_kernel"])
        XCTAssertEqual(try noBias.weightShapes(for: [[5, 7, 3]]), [[3, 3, 3, 1], [1, 1, 3, 5]])
    }

    func testSeparableConv2D_configRoundTripWithOnlyKerasArguments() throws {
        for c in WindowCase.all {
            assertConfigRoundTrip(try separable(c, multiplier: 2, seed: 1))
        }
        for activation in ActivationFunction.allCases {
            assertConfigRoundTrip(
                try separable(WindowCase.all[0], useBias: false, activation: activation.kerasName, seed: 1))
        }
        let layer = try make(SeparableConv2D.self, ["filters": 2, "kernel_size": 3])
        XCTAssertEqual(layer.depthMultiplier, 1)
        XCTAssertEqual(
            Set(layer.config.values.keys),
            [
                "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                "depth_multiplier", "activation", "use_bias",
            ])
    }

    func testSeparableConv2D_rejectsBadConfigAndInputs() throws {
        assertThrows(
            try make(SeparableConv2D.self, ["kernel_size": 3]), "attribute 'filters' is missing (expected an integer)")
        assertThrows(
            try make(SeparableConv2D.self, ["filters": 0, "kernel_size": 3]),
            "attribute 'filters' is 0, expected a positive integer")
        assertThrows(
            try make(SeparableConv2D.self, ["filters": 2, "kernel_size": 3, "depth_multiplier": 0]),
            "attribute 'depth_multiplier' is 0, expected a positive integer")
        assertThrows(
            try make(SeparableConv2D.self, ["filters": 2, "kernel_size": 3, "padding": "full"]),
            "attribute 'padding' is \"full\", expected one of \"valid\", \"same\"")
        assertThrows(
            try make(SeparableConv2D.self, ["filters": 2, "kernel_size": 3, "data_format": "channels_first"]),
            "attribute 'data_format' is \"channels_first\", expected \"channels_last\" (NHWC)")
        assertThrows(
            try make(SeparableConv2D.self, ["filters": 2, "kernel_size": 3, "activation": "bogus"]),
            containing: ["attribute 'activation' is \"bogus\"", "relu", "silu"])
        let layer = try make(SeparableConv2D.self, ["filters": 2, "kernel_size": 3])
        assertThrows(try layer.outputShape(for: [[5, 7, 3], [5, 7, 3]]), "expects 1 input(s), got 2")
        assertThrows(try layer.outputShape(for: [[12]]), "expects an image input [height, width, channels], got [12]")
        let built = try withRandomWeights(layer, inputShapes: [[5, 7, 3]], seed: 1)
        assertThrows(
            try built.forward([Tensor(shape: [1, 5, 7, 2])], context: .inference),
            "SeparableConv2D with a depthwise kernel for 3 input channels got input [1, 5, 7, 2]")
    }

    // MARK: - Surgery

    func testPruning_keepsDepthwiseFiltersAndPointwiseRowsOfKeptInputs() throws {
        let layer = try separable(WindowCase.all[0], filters: 4, multiplier: 2, seed: 12)
        let pruned = try XCTUnwrap(
            try layer.pruned(keptInputs: [[0, 2]], keptOutputs: [1, 3], inputShapes: [[5, 7, 3]]) as? SeparableConv2D)
        XCTAssertEqual(pruned.filters, 2)
        XCTAssertEqual(pruned.weights[0], layer.weights[0].selecting([0, 2], alongAxis: 2))
        XCTAssertEqual(
            pruned.weights[1], layer.weights[1].selecting([0, 1, 4, 5], alongAxis: 2).selecting([1, 3], alongAxis: 3))
        XCTAssertEqual(
            pruned.weights[2], Tensor.literal([2], [layer.weights[2].scalars[1], layer.weights[2].scalars[3]]))
        XCTAssertEqual(
            layer.weightChannelAxes,
            [WeightChannelAxes(input: 2), WeightChannelAxes(output: 3), WeightChannelAxes(output: 0)])
        let single = try separable(WindowCase.all[0], multiplier: 1, useBias: false, seed: 1)
        XCTAssertEqual(single.weightChannelAxes, [WeightChannelAxes(input: 2), WeightChannelAxes(output: 3, input: 2)])
    }

    func testFoldingConstantInputs_isExactWithoutPadding() throws {
        let c = WindowCase(kernel: [3, 3], strides: [2, 2], size: [7, 6], channels: 3)
        let layer = try separable(c, filters: 3, multiplier: 2, useBias: false, seed: 21)
        var x = batch(2, c.inputShape, seed: 22)
        for i in stride(from: 1, to: x.count, by: 3) { x.scalars[i] = 0.75 }
        let folded = try XCTUnwrap(try layer.foldingConstantInputs([1: 0.75], inputShapes: [c.inputShape]))
        XCTAssertTrue(folded.exact)
        var zeroed = x
        for i in stride(from: 1, to: x.count, by: 3) { zeroed.scalars[i] = 0 }
        assertClose(try evaluate(folded.layer, zeroed), try evaluate(layer, x), tolerance: 1e-5)
        let padded = try separable(WindowCase(kernel: [3, 3], same: true, size: [5, 5]), seed: 1)
        XCTAssertEqual(try padded.foldingConstantInputs([0: 1], inputShapes: [[5, 5, 3]])?.exact, false)
    }
}
