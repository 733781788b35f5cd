import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class DenseTests: XCTestCase {
    private func dense(
        _ features: Int, units: Int, useBias: Bool = true, activation: String = "linear", seed: UInt64
    ) throws -> Dense {
        try withRandomWeights(
            try make(
                Dense.self,
                [
                    "units": .number(Double(units)), "use_bias": .bool(useBias),
                    "activation": .string(activation),
                ]),
            inputShapes: [[features]], seed: seed)
    }

    func testDense_matchesReference() throws {
        for (features, units) in [(7, 5), (1, 1), (13, 3), (4, 9)] {
            for useBias in [true, false] {
                let layer = try dense(features, units: units, useBias: useBias, seed: UInt64(features * 10 + units))
                let x = batch(3, [features], seed: UInt64(units))
                let expected = Reference.dense(
                    input: x, kernel: layer.weights[0], bias: useBias ? layer.weights[1] : nil)
                assertClose(
                    try evaluate(layer, x), expected, tolerance: 1e-5, "\(features) -> \(units), bias \(useBias)")
            }
        }
    }

    func testDense_handComputed() throws {
        var layer = try make(Dense.self, ["units": 2])
        layer.weights = [Tensor.literal([3, 2], [1, 2, 3, 4, 5, 6]), Tensor.literal([2], [0.5, -1])]
        let x = Tensor.literal([1, 3], [1, 0, -1])
        XCTAssertEqual(try evaluate(layer, x), Tensor.literal([1, 2], [-3.5, -5]))
    }

    func testDense_gradientCheck() throws {
        try checkGradients(try dense(7, units: 5, seed: 1), inputs: [batch(3, [7], seed: 2)])
        try checkGradients(try dense(1, units: 1, seed: 3), inputs: [batch(1, [1], seed: 4)])
        try checkGradients(try dense(6, units: 4, useBias: false, seed: 5), inputs: [batch(2, [6], seed: 6)])
        // Batch 1 and a wide layer: the input-gradient GEMM with n = 1 row.
        try checkGradients(try dense(105, units: 4, seed: 7), inputs: [batch(1, [105], seed: 8)])
    }

    func testDense_everyFusedActivation_forwardAndGradients() throws {
        for activation in ActivationFunction.allCases {
            let seed = try kinkFreeSeed(kinks: activation.kinks) { seed in
                try evaluate(try self.dense(7, units: 5, seed: seed), batch(3, [7], seed: seed + 1000))
            }
            let layer = try dense(7, units: 5, activation: activation.kerasName, seed: seed)
            let x = batch(3, [7], seed: seed + 1000)
            let z = Reference.dense(input: x, kernel: layer.weights[0], bias: layer.weights[1])
            assertClose(
                try evaluate(layer, x), Reference.activation(activation.kerasName, z), tolerance: 1e-5, "\(activation)")
            try checkGradients(layer, inputs: [x], label: "\(activation)")
        }
    }

    func testDense_weightsMacsAndInitialisation() throws {
        let layer = try make(Dense.self, ["units": 10])
        XCTAssertEqual(layer.weightNames, ["kernel", "bias"])
        XCTAssertEqual(try layer.weightShapes(for: [[20]]), [[20, 10], [10]])
        XCTAssertEqual(try layer.outputShape(for: [[20]]), [10])
        XCTAssertEqual(layer.macs(inputShapes: [[20]], outputShape: [10]), 200)
        var random = SeededRandom(seed: 3)
        let weights = try layer.initialWeights(for: [[20]], random: &random)
        let limit = Float((6.0 / 30.0).squareRoot())
        XCTAssertTrue(weights[0].scalars.allSatisfy { abs($0) <= limit })
        XCTAssertEqual(weights[1], Tensor(shape: [10]))
    }

    func testDense_configRoundTrip() throws {
        for activation in ActivationFunction.allCases {
            assertConfigRoundTrip(try dense(3, units: 2, activation: activation.kerasName, seed: 1))
            assertConfigRoundTrip(try dense(3, units: 2, useBias: false, activation: activation.kerasName, seed: 1))
        }
    }

    func testDense_rejectsBadConfigAndInputs() throws {
        assertThrows(try make(Dense.self), "attribute 'units' is missing (expected an integer)")
        assertThrows(try make(Dense.self, ["units": -3]), "attribute 'units' is -3, expected a positive integer")
        assertThrows(try make(Dense.self, ["units": 2.5]), "attribute 'units' is 2.5, expected an integer in -2^31...2^31")
        let layer = try make(Dense.self, ["units": 2])
        assertThrows(
            try layer.outputShape(for: [[4, 4, 3]]),
            "Dense expects a flat input [features], got [4, 4, 3]; add a Flatten or global pooling layer before it")
        assertThrows(try layer.outputShape(for: [[4], [4]]), "expects 1 input(s), got 2")
    }
}
