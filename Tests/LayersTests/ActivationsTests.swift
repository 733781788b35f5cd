import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class ActivationsTests: XCTestCase {
    /// 120 distinct values spread about +-4.8 around `center`, clear of `kinks`.
    private func spread(center: Float = 0, kinks: [Float] = [], seed: UInt64) -> Tensor {
        Tensor.distinctValues(
            shape: [2, 4, 5, 3], seed: seed, spacing: 0.08, margin: 0.05, avoiding: kinks, center: center)
    }

    // MARK: - Activation

    func testActivation_everyFunctionMatchesKerasDefinition() throws {
        for function in ActivationFunction.allCases {
            let layer = try make(Activation.self, ["activation": .string(function.kerasName)])
            XCTAssertEqual(layer.function, function)
            let x = batch(2, [3, 4, 5], seed: 1, range: -8...8)
            assertClose(
                try evaluate(layer, x), Reference.activation(function.kerasName, x), tolerance: 1e-6, "\(function)")
        }
    }

    func testActivation_handComputedValues() throws {
        let x = Tensor.literal([1, 7], [-4, -3, -1, 0, 1, 3, 7])
        func y(_ f: ActivationFunction) throws -> [Float] { try evaluate(Activation(f), x).scalars }
        XCTAssertEqual(try y(.relu), [0, 0, 0, 0, 1, 3, 7])
        XCTAssertEqual(try y(.relu6), [0, 0, 0, 0, 1, 3, 6])
        XCTAssertEqual(try y(.linear), x.scalars)
        // Keras 3: hard_sigmoid(x) = relu6(x + 3) / 6.
        let hard = try y(.hardSigmoid)
        for (v, e) in zip(hard, [0, 0, 1.0 / 3, 0.5, 2.0 / 3, 1, 1] as [Float]) { XCTAssertEqual(v, e, accuracy: 1e-6) }
        XCTAssertEqual(try y(.sigmoid)[3], 0.5)
        XCTAssertEqual(try y(.swish)[4], 1 / (1 + exp(-1)), accuracy: 1e-6)
        // Keras 3: hard_silu(x) = x * relu6(x + 3) / 6.
        for (v, e) in zip(try y(.hardSilu), [0, 0, -1.0 / 3, 0, 2.0 / 3, 3, 7] as [Float]) {
            XCTAssertEqual(v, e, accuracy: 1e-6)
        }
        XCTAssertEqual(try y(.gelu)[4], 0.8413447, accuracy: 1e-6)
        XCTAssertEqual(try y(.elu)[2], -0.6321206, accuracy: 1e-6)
        XCTAssertEqual(try y(.selu)[4], 1.0507010, accuracy: 1e-6)
        XCTAssertEqual(try y(.softplus)[3], 0.6931472, accuracy: 1e-6)
        XCTAssertEqual(try y(.softsign)[4], 0.5)
        XCTAssertEqual(try y(.exponential)[3], 1)
        XCTAssertEqual(try y(.leakyReLU)[2], -0.2, accuracy: 1e-7)
        XCTAssertEqual(try y(.mish)[4], 0.8650984, accuracy: 1e-6)
    }

    func testActivation_everyFunction_gradientCheck() throws {
        for (k, function) in ActivationFunction.allCases.enumerated() {
            let center: Float = function == .relu6 ? 3 : 0
            let x = spread(center: center, kinks: function.kinks, seed: UInt64(k) + 1)
            try checkGradients(Activation(function), inputs: [x], label: "\(function)")
        }
    }

    func testActivation_softmaxIsOverTheLastAxis() throws {
        let x = Tensor.literal([2, 3], [1, 2, 3, 1000, 1000, 1000])
        let y = try evaluate(Activation(.softmax), x)
        assertClose(y, Reference.softmax(Tensor.literal([2, 3], [1, 2, 3, 0, 0, 0])), tolerance: 1e-6)
    }

    func testActivation_acceptsKerasAliasesAndRejectsUnknownNames() throws {
        XCTAssertEqual(try make(Activation.self, ["activation": "silu"]).function, .swish)
        XCTAssertEqual(try make(Activation.self, ["activation": "hard_silu"]).function, .hardSilu)
        XCTAssertEqual(try make(Activation.self, ["activation": "hard_swish"]).function, .hardSilu)
        assertThrows(
            try make(Activation.self, ["activation": "celu"]),
            "attribute 'activation' is \"celu\", expected one of linear, relu, relu6, sigmoid, tanh, softmax, swish, "
                + "hard_sigmoid, hard_silu, gelu, elu, selu, softplus, softsign, exponential, leaky_relu, mish, silu, "
                + "hard_swish"
        )
        assertThrows(try make(Activation.self), "attribute 'activation' is missing (expected a string)")
        assertThrows(try Activation(.relu).outputShape(for: [[3], [3]]), "expects 1 input(s), got 2")
        assertThrows(try Activation(.relu).forward([], context: .inference), "expects 1 input(s), got 0")
    }

    func testActivation_configRoundTrip() throws {
        for function in ActivationFunction.allCases { assertConfigRoundTrip(Activation(function)) }
        XCTAssertEqual(Activation(.hardSigmoid).config["activation"], "hard_sigmoid")
    }

    // MARK: - ReLU

    /// Keras 3's definition, written independently of the layer.
    private func kerasReLU(_ x: Float, maxValue: Float?, slope: Float, threshold: Float) -> Float {
        x > threshold ? min(x, maxValue ?? .infinity) : slope * (x - threshold)
    }

    /// Includes a cap below the threshold, where Keras's output jumps from 0 to the cap.
    private static let reluVariants: [(maxValue: Double?, slope: Double, threshold: Double)] = [
        (nil, 0, 0), (6, 0, 0), (nil, 0.1, 0), (nil, 0, 0.5), (2, 0.2, 1.5), (1, 0.3, 0.25), (0, 0, 0), (1, 0.2, 2),
    ]

    private func relu(_ v: (maxValue: Double?, slope: Double, threshold: Double)) throws -> ReLU {
        try make(
            ReLU.self,
            [
                "max_value": v.maxValue.map { .number($0) } ?? .null,
                "negative_slope": .number(v.slope), "threshold": .number(v.threshold),
            ])
    }

    func testReLU_matchesKerasDefinition() throws {
        for v in Self.reluVariants {
            let layer = try relu(v)
            let x = batch(2, [5, 7, 3], seed: 1, range: -8...8)
            let y = try evaluate(layer, x)
            for i in 0..<x.count {
                XCTAssertEqual(
                    y.scalars[i],
                    kerasReLU(
                        x.scalars[i], maxValue: v.maxValue.map { Float($0) },
                        slope: Float(v.slope), threshold: Float(v.threshold)),
                    accuracy: 1e-6, "\(v) at \(x.scalars[i])")
            }
        }
        let leaky = try relu((6, 0.1, 0.5))
        assertClose(
            try evaluate(leaky, Tensor.literal([1, 5], [-1, 0.4, 0.5, 3, 9])),
            Tensor.literal([1, 5], [-0.15, -0.01, 0, 3, 6]),
            tolerance: 1e-6)
    }

    func testReLU_matchesKerasOnItsOwnExampleIncludingTheThresholdPoint() throws {
        // KERAS-FORMAT 5.6: K3, K2.15 and K2.4 agree on these values; at x == threshold the output is 0.
        let layer = try relu((4, 0.1, 1))
        let x = Tensor.literal([1, 6], [-3, 0, 0.5, 1, 2, 5])
        assertClose(try evaluate(layer, x), Tensor.literal([1, 6], [-0.4, -0.1, -0.05, 0, 2, 4]), tolerance: 1e-6)
        // A cap below the threshold: 0-slope values up to the threshold, then the cap.
        let low = try relu((1, 0, 2))
        XCTAssertEqual(try evaluate(low, Tensor.literal([1, 4], [1.5, 2, 2.5, 9])).scalars, [0, 0, 1, 1])
    }

    func testReLU_gradientCheck() throws {
        for (k, v) in Self.reluVariants.enumerated() {
            let layer = try relu(v)
            let kinks = [Float(v.threshold)] + (v.maxValue.map { [Float($0)] } ?? [])
            try checkGradients(
                layer, inputs: [spread(center: Float(v.threshold), kinks: kinks, seed: UInt64(k) + 20)], label: "\(v)")
        }
    }

    func testReLU_rejectsBadConfig() {
        assertThrows(
            try make(ReLU.self, ["max_value": -1]), "attribute 'max_value' is -1, expected a number >= 0 or null")
        assertThrows(
            try make(ReLU.self, ["negative_slope": -0.5]), "attribute 'negative_slope' is -0.5, expected a number >= 0")
        assertThrows(try make(ReLU.self, ["threshold": -0.5]), "attribute 'threshold' is -0.5, expected a number >= 0")
        assertThrows(
            try make(ReLU.self, ["threshold": "high"]), "attribute 'threshold' is \"high\", expected a finite number")
    }

    func testReLU_configRoundTrip() throws {
        for v in Self.reluVariants { assertConfigRoundTrip(try relu(v)) }
        let plain = try make(ReLU.self)
        XCTAssertEqual(plain.config, LayerConfig(["max_value": .null, "negative_slope": 0, "threshold": 0]))
    }

    // MARK: - LeakyReLU

    func testLeakyReLU_matchesKerasDefinitionAndDefaultSlope() throws {
        let x = batch(2, [5, 7, 3], seed: 30, range: -4...4)
        let cases: [([String: ConfigValue], Double)] = [
            ([:], 0.3), (["negative_slope": 0.1], 0.1), (["alpha": 0.2], 0.2), (["negative_slope": 0], 0),
        ]
        for (config, slope) in cases {
            let layer = try make(LeakyReLU.self, config)
            XCTAssertEqual(layer.negativeSlope, slope, "\(config)")
            let y = try evaluate(layer, x)
            for i in 0..<x.count {
                let v = x.scalars[i]
                XCTAssertEqual(y.scalars[i], v >= 0 ? v : Float(slope) * v, accuracy: 1e-7)
            }
        }
        XCTAssertEqual(try evaluate(LeakyReLU(), Tensor.literal([1, 3], [-2, 0, 2])).scalars, [-0.6, 0, 2])
    }

    func testLeakyReLU_gradientCheck() throws {
        try checkGradients(LeakyReLU(), inputs: [spread(seed: 31)])
        try checkGradients(LeakyReLU(negativeSlope: 0.01), inputs: [spread(seed: 32)])
    }

    func testLeakyReLU_configWritesTheKeras3KeyAndRejectsNegativeSlopes() throws {
        XCTAssertEqual(try make(LeakyReLU.self, ["alpha": 0.2]).config, LayerConfig(["negative_slope": 0.2]))
        XCTAssertEqual(
            try make(LeakyReLU.self, ["negative_slope": 0.1, "alpha": 0.2]).negativeSlope, 0.1, "the Keras 3 key wins")
        assertConfigRoundTrip(LeakyReLU())
        assertConfigRoundTrip(LeakyReLU(negativeSlope: 0.05))
        assertThrows(
            try make(LeakyReLU.self, ["negative_slope": -0.1]),
            "attribute 'negative_slope' is -0.1, expected a number >= 0")
        assertThrows(try make(LeakyReLU.self, ["alpha": -1]), "attribute 'alpha' is -1, expected a number >= 0")
        assertThrows(try LeakyReLU().outputShape(for: [[3], [3]]), "expects 1 input(s), got 2")
    }

    // MARK: - Softmax

    func testSoftmax_matchesReferenceAndIsStable() throws {
        let x = batch(2, [3, 4, 5], seed: 2, range: -5...5)
        let y = try evaluate(Softmax(), x)
        assertClose(y, Reference.softmax(x), tolerance: 1e-6)
        for row in 0..<(y.count / 5) {
            XCTAssertEqual(y.scalars[(row * 5)..<(row * 5 + 5)].reduce(0, +), 1, accuracy: 1e-5)
        }
        let big = try evaluate(Softmax(), Tensor.literal([1, 3], [1000, 1001, 1002]))
        XCTAssertTrue(big.isFinite)
        assertClose(big, Reference.softmax(Tensor.literal([1, 3], [0, 1, 2])), tolerance: 1e-6)
    }

    func testSoftmax_gradientCheck() throws {
        try checkGradients(Softmax(), inputs: [batch(2, [5, 7, 3], seed: 3, range: -3...3)])
        try checkGradients(Softmax(), inputs: [batch(3, [10], seed: 4, range: -3...3)])
        try checkGradients(Softmax(), inputs: [batch(2, [1], seed: 5)])
    }

    func testSoftmax_rejectsAxesOtherThanTheLast() throws {
        assertThrows(
            try make(Softmax.self, ["axis": 1]), "Softmax over axis 1 is not supported; only the last axis (-1)")
        XCTAssertNoThrow(try make(Softmax.self, ["axis": -1]))
        assertConfigRoundTrip(try make(Softmax.self))
        assertThrows(try Softmax().outputShape(for: [[3], [3]]), "expects 1 input(s), got 2")
    }
}
