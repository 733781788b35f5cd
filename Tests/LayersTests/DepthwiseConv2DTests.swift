import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class DepthwiseConv2DTests: XCTestCase {
    private func depthwise(
        _ c: WindowCase, multiplier: Int = 1, useBias: Bool = true, activation: String = "linear",
        seed: UInt64
    ) throws -> DepthwiseConv2D {
        var config = c.config
        config["depth_multiplier"] = .number(Double(multiplier))
        config["use_bias"] = .bool(useBias)
        config["activation"] = .string(activation)
        return try withRandomWeights(try make(DepthwiseConv2D.self, config), inputShapes: [c.inputShape], seed: seed)
    }

    func testDepthwiseConv2D_matchesDirectDepthwiseConvolution() throws {
        for (k, c) in WindowCase.all.enumerated() {
            for multiplier in [1, 2, 3] {
                let useBias = multiplier != 3
                let layer = try depthwise(c, multiplier: multiplier, useBias: useBias, seed: UInt64(k) + 1)
                let x = batch(2, c.inputShape, seed: UInt64(k) + 100)
                let expected = Reference.depthwiseConv2D(
                    input: x, kernel: layer.weights[0], bias: useBias ? layer.weights[1] : nil,
                    strides: c.strides, dilation: c.dilation, same: c.same)
                assertClose(try evaluate(layer, x), expected, tolerance: 1e-5, "\(c), multiplier \(multiplier)")
                XCTAssertEqual(try layer.outputShape(for: [c.inputShape]), Array(expected.shape.dropFirst()))
            }
        }
    }

    func testDepthwiseConv2D_outputChannelIsInputChannelTimesMultiplierPlusIndex() throws {
        // 1x1 kernel: output channel c * M + m = input channel c * kernel[0, 0, c, m].
        var layer = try make(DepthwiseConv2D.self, ["kernel_size": 1, "depth_multiplier": 2, "use_bias": false])
        layer.weights = [Tensor.literal([1, 1, 2, 2], [1, 10, 100, 1000])]
        let x = Tensor.literal([1, 1, 1, 2], [2, 3])
        XCTAssertEqual(try evaluate(layer, x), Tensor.literal([1, 1, 1, 4], [2, 20, 300, 3000]))
    }

    func testDepthwiseConv2D_gradientCheck() throws {
        for (k, c) in WindowCase.all.enumerated() {
            for multiplier in [1, 2] {
                let layer = try depthwise(c, multiplier: multiplier, seed: UInt64(k) * 3 + UInt64(multiplier))
                try checkGradients(
                    layer, inputs: [batch(2, c.inputShape, seed: UInt64(k) + 400)],
                    label: "\(c), multiplier \(multiplier)")
            }
        }
        let noBias = try depthwise(WindowCase.all[3], multiplier: 2, useBias: false, seed: 9)
        try checkGradients(noBias, inputs: [batch(2, WindowCase.all[3].inputShape, seed: 10)])
    }

    func testDepthwiseConv2D_everyFusedActivation_forwardAndGradients() throws {
        let c = WindowCase(kernel: [3, 3], strides: [2, 2], same: true, size: [5, 6])
        for activation in ActivationFunction.allCases {
            let seed = try kinkFreeSeed(kinks: activation.kinks) { seed in
                try evaluate(
                    try self.depthwise(c, multiplier: 2, seed: seed), batch(2, c.inputShape, seed: seed + 1000))
            }
            let layer = try depthwise(c, multiplier: 2, activation: activation.kerasName, seed: seed)
            let x = batch(2, c.inputShape, seed: seed + 1000)
            let z = Reference.depthwiseConv2D(
                input: x, kernel: layer.weights[0], bias: layer.weights[1], strides: c.strides, same: true)
            assertClose(
                try evaluate(layer, x), Reference.activation(activation.kerasName, z), tolerance: 1e-5, "\(activation)")
            try checkGradients(layer, inputs: [x], label: "\(activation)")
        }
    }

    func testDepthwiseConv2D_weightShapesMacsAndInitialisation() throws {
        let layer = try make(
            DepthwiseConv2D.self, ["kernel_size": 3, "depth_multiplier": 2, "strides": 2, "padding": "same"])
        XCTAssertEqual(layer.weightNames, ["kernel", "bias"])
        XCTAssertEqual(try layer.weightShapes(for: [[5, 7, 3]]), [[3, 3, 3, 2], [6]])
        let out = try layer.outputShape(for: [[5, 7, 3]])
        XCTAssertEqual(out, [3, 4, 6])
        XCTAssertEqual(layer.macs(inputShapes: [[5, 7, 3]], outputShape: out), 3 * 4 * 6 * 9)
        var random = SeededRandom(seed: 2)
        let weights = try layer.initialWeights(for: [[5, 7, 3]], random: &random)
        let limit = Float((6.0 / Double(9 * 3 + 9 * 2)).squareRoot())
        XCTAssertTrue(weights[0].scalars.allSatisfy { abs($0) <= limit })
        XCTAssertEqual(weights[1], Tensor(shape: [6]))
    }

    func testDepthwiseConv2D_configRoundTrip() throws {
        for c in WindowCase.all {
            assertConfigRoundTrip(try depthwise(c, multiplier: 2, seed: 1))
        }
        for activation in ActivationFunction.allCases {
            assertConfigRoundTrip(
                try depthwise(WindowCase.all[0], useBias: false, activation: activation.kerasName, seed: 1))
        }
        XCTAssertEqual(try make(DepthwiseConv2D.self, ["kernel_size": 3]).depthMultiplier, 1)
    }

    func testDepthwiseConv2D_rejectsBadConfigAndInputs() throws {
        assertThrows(
            try make(DepthwiseConv2D.self, ["kernel_size": 3, "depth_multiplier": 0]),
            "attribute 'depth_multiplier' is 0, expected a positive integer")
        assertThrows(
            try make(DepthwiseConv2D.self, ["kernel_size": 3, "padding": "full"]),
            "attribute 'padding' is \"full\", expected one of \"valid\", \"same\"")
        assertThrows(
            try make(DepthwiseConv2D.self, ["kernel_size": 3, "data_format": "channels_first"]),
            "attribute 'data_format' is \"channels_first\", expected \"channels_last\" (NHWC)")
        let layer = try make(DepthwiseConv2D.self, ["kernel_size": 3])
        assertThrows(try layer.outputShape(for: [[5, 7, 3], [5, 7, 3]]), "expects 1 input(s), got 2")
        assertThrows(try layer.outputShape(for: [[12]]), "expects an image input [height, width, channels], got [12]")
    }
}
