import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class DropoutTests: XCTestCase {
    func testDropout_isIdentityInInference() throws {
        let x = batch(2, [5, 7, 3], seed: 1)
        XCTAssertEqual(try evaluate(Dropout(rate: 0.5), x), x)
        let out = try Dropout(rate: 0.5).forward([x], context: .inference)
        let dy = Tensor.random(shape: x.shape, seed: 2)
        let g = try Dropout(rate: 0.5).backward(dy, inputs: [x], output: out, context: .inference)
        XCTAssertEqual(g.inputs[0], dy)
    }

    func testDropoutTraining_keepsWithProbabilityOneMinusRateAndScales() throws {
        let rate = 0.3
        let x = Tensor(shape: [4, 50, 50, 1], repeating: 2)
        let y = try evaluate(Dropout(rate: rate), x, training: true, seed: 11)
        let scaled = Float(2 / (1 - rate))
        var kept = 0
        for v in y.scalars {
            if v == 0 { continue }
            XCTAssertEqual(v, scaled, accuracy: 1e-6)
            kept += 1
        }
        let fraction = Double(kept) / Double(x.count)
        XCTAssertEqual(fraction, 1 - rate, accuracy: 0.02)
        // Inverted dropout keeps the expected value.
        XCTAssertEqual(y.sum / Double(x.count), 2, accuracy: 0.06)
    }

    func testDropoutTraining_maskIsDeterministicFromTheSeed() throws {
        let x = batch(2, [6, 6, 4], seed: 3)
        let layer = Dropout(rate: 0.5)
        let a = try evaluate(layer, x, training: true, seed: 42)
        let b = try evaluate(layer, x, training: true, seed: 42)
        let c = try evaluate(layer, x, training: true, seed: 43)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        // The per-layer Keras seed does not change the mask: the step's seed does.
        XCTAssertEqual(try evaluate(Dropout(rate: 0.5, seed: 99), x, training: true, seed: 42), a)
    }

    func testDropoutBackward_usesTheForwardMask() throws {
        let x = batch(2, [6, 6, 4], seed: 4, range: 0.5...1)
        let layer = Dropout(rate: 0.4)
        let context = ForwardContext(training: true, seed: 5)
        let out = try layer.forward([x], context: context)
        let dy = Tensor(shape: x.shape, repeating: 1)
        let g = try layer.backward(dy, inputs: [x], output: out, context: context)
        let scale = Float(1 / 0.6)
        for i in 0..<x.count {
            // Inputs are positive, so a zero output means dropped.
            XCTAssertEqual(g.inputs[0].scalars[i], out.value.scalars[i] == 0 ? 0 : scale, accuracy: 1e-6)
        }
        // Without the cache, the mask is recomputed from the context's seed.
        let recomputed = try layer.backward(dy, inputs: [x], output: LayerOutput(out.value), context: context)
        XCTAssertEqual(recomputed.inputs[0], g.inputs[0])
        // The cached seed wins over a different context seed.
        let otherContext = ForwardContext(training: true, seed: 6)
        XCTAssertEqual(try layer.backward(dy, inputs: [x], output: out, context: otherContext).inputs[0], g.inputs[0])
    }

    func testDropout_gradientCheckInTraining() throws {
        try checkGradients(Dropout(rate: 0.3), inputs: [batch(2, [5, 7, 3], seed: 7)],
                           context: ForwardContext(training: true, seed: 8))
        try checkGradients(Dropout(rate: 0.5), inputs: [batch(3, [4], seed: 9)],
                           context: ForwardContext(training: true, seed: 10))
    }

    func testDropoutRateZero_isIdentityInTraining() throws {
        let x = batch(2, [3, 3, 2], seed: 12)
        XCTAssertEqual(try evaluate(make(Dropout.self, ["rate": 0]), x, training: true, seed: 1), x)
    }

    func testDropout_rejectsBadConfig() {
        assertThrows(try make(Dropout.self, ["rate": 1]), "attribute 'rate' is 1, expected a number in [0, 1)")
        assertThrows(try make(Dropout.self, ["rate": -0.1]), "attribute 'rate' is -0.1, expected a number in [0, 1)")
        assertThrows(try make(Dropout.self), "attribute 'rate' is missing (expected a number)")
        assertThrows(try make(Dropout.self, ["rate": 0.5, "noise_shape": [.null, 1, 1, 3]]),
                     "Dropout with noise_shape [null, 1, 1, 3] is not supported; only null (an independent mask per element)")
        assertThrows(try make(Dropout.self, ["rate": 0.5, "seed": "x"]), "attribute 'seed' is \"x\", expected an integer")
        assertThrows(try Dropout(rate: 0.1).outputShape(for: []), "expects 1 input(s), got 0")
    }

    func testDropout_configRoundTrip() throws {
        assertConfigRoundTrip(Dropout(rate: 0.25))
        assertConfigRoundTrip(Dropout(rate: 0.3, seed: 1337))
        let layer = try make(Dropout.self, ["rate": 0.3, "seed": 7, "noise_shape": .null])
        XCTAssertEqual(layer.config, LayerConfig(["rate": 0.3, "seed": 7, "noise_shape": .null]))
        XCTAssertEqual(try layer.outputShape(for: [[5, 7, 3]]), [5, 7, 3])
    }
}
