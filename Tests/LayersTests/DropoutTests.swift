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
        try checkGradients(
            Dropout(rate: 0.3), inputs: [batch(2, [5, 7, 3], seed: 7)],
            context: ForwardContext(training: true, seed: 8))
        try checkGradients(
            Dropout(rate: 0.5), inputs: [batch(3, [4], seed: 9)],
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
        assertThrows(
            try make(Dropout.self, ["rate": 0.5, "noise_shape": [.null, 0, 1, 3]]),
            "attribute 'noise_shape' is [null, 0, 1, 3], expected null or a list of positive integers and nulls")
        assertThrows(
            try make(Dropout.self, ["rate": 0.5, "noise_shape": "all"]),
            "attribute 'noise_shape' is \"all\", expected null or a list of positive integers and nulls")
        assertThrows(
            try make(Dropout.self, ["rate": 0.5, "noise_shape": [.null, 1.5]]),
            "attribute 'noise_shape' is [null, 1.5], expected null or a list of positive integers and nulls")
        assertThrows(
            try make(Dropout.self, ["rate": 0.5, "seed": "x"]), "attribute 'seed' is \"x\", expected an integer in -2^31...2^31")
        assertThrows(try Dropout(rate: 0.1).outputShape(for: []), "expects 1 input(s), got 0")
    }

    // MARK: - noise_shape

    /// Inverted dropout with one draw per mask element, drawn in row-major order of `maskShape`
    /// from `SeededRandom(seed:)` and read at each element's index with broadcast axes at 0.
    private func reference(_ x: Tensor, rate: Float, maskShape: [Int], seed: UInt64) -> Tensor {
        var random = SeededRandom(seed: seed)
        let mask = (0..<maskShape.reduce(1, *)).map { _ in random.nextUnitFloat() >= rate }
        var y = x
        let s = x.shape
        for n in 0..<s[0] {
            for h in 0..<s[1] {
                for w in 0..<s[2] {
                    for c in 0..<s[3] {
                        let i = ((n * s[1] + h) * s[2] + w) * s[3] + c
                        let m =
                            (((maskShape[0] == 1 ? 0 : n) * maskShape[1] + (maskShape[1] == 1 ? 0 : h)) * maskShape[2]
                                + (maskShape[2] == 1 ? 0 : w)) * maskShape[3] + (maskShape[3] == 1 ? 0 : c)
                        y.scalars[i] = mask[m] ? x.scalars[i] / (1 - rate) : 0
                    }
                }
            }
        }
        return y
    }

    func testDropoutNoiseShape_sharesOneDrawAlongAxesOfExtentOne() throws {
        let x = batch(6, [3, 4, 5], seed: 20, range: 0.5...1)
        let cases: [([ConfigValue], [Int])] = [
            ([.null, 1, 1, 1], [6, 1, 1, 1]), ([.null, 1, 1, 5], [6, 1, 1, 5]), ([.null, 1, 1, .null], [6, 1, 1, 5]),
            ([1, 3, 1, .null], [1, 3, 1, 5]), ([.null, 3, 4, 5], [6, 3, 4, 5]),
        ]
        for (noise, maskShape) in cases {
            let layer = try make(Dropout.self, ["rate": 0.4, "noise_shape": .array(noise)])
            let y = try evaluate(layer, x, training: true, seed: 21)
            assertClose(y, reference(x, rate: 0.4, maskShape: maskShape, seed: 21), tolerance: 1e-6, "\(noise)")
            XCTAssertEqual(try evaluate(layer, x), x, "inference is the identity")
        }
        // Drop-connect: each sample is kept whole or dropped whole.
        let y = try evaluate(
            make(Dropout.self, ["rate": 0.5, "noise_shape": [.null, 1, 1, 1]]), x, training: true, seed: 22)
        for n in 0..<6 {
            let sample = y.scalars[(n * 60)..<((n + 1) * 60)]
            XCTAssertTrue(sample.allSatisfy { $0 == 0 } || sample.allSatisfy { $0 != 0 }, "sample \(n)")
        }
        // A full noise shape draws exactly as null does.
        XCTAssertEqual(
            try evaluate(
                make(Dropout.self, ["rate": 0.4, "noise_shape": [.null, 3, 4, 5]]), x, training: true, seed: 23),
            try evaluate(Dropout(rate: 0.4), x, training: true, seed: 23))
    }

    func testDropoutNoiseShape_backwardUsesTheSameMaskAndPassesGradientCheck() throws {
        let layer = try make(Dropout.self, ["rate": 0.5, "noise_shape": [.null, 1, 1, .null]])
        let x = batch(4, [3, 3, 2], seed: 24)
        let context = ForwardContext(training: true, seed: 25)
        let out = try layer.forward([x], context: context)
        let g = try layer.backward(Tensor(shape: x.shape, repeating: 1), inputs: [x], output: out, context: context)
        assertClose(
            g.inputs[0], reference(Tensor(shape: x.shape, repeating: 1), rate: 0.5, maskShape: [4, 1, 1, 2], seed: 25),
            tolerance: 1e-6)
        try checkGradients(layer, inputs: [x], context: context)
        try checkGradients(
            try make(Dropout.self, ["rate": 0.3, "noise_shape": [.null, 1, 1, 1]]), inputs: [x], context: context)
    }

    func testDropoutNoiseShape_mustFitTheInput() {
        let fit = "give one entry per axis, batch first, each null, 1 or the input's extent"
        assertThrows(
            try make(Dropout.self, ["rate": 0.5, "noise_shape": [.null, 2, 1, 1]]).outputShape(for: [[4, 4, 3]]),
            "Dropout noise_shape [null, 2, 1, 1] does not fit an input of shape [null, 4, 4, 3]; \(fit)")
        assertThrows(
            try make(Dropout.self, ["rate": 0.5, "noise_shape": [.null, 1, 1]]).outputShape(for: [[4, 4, 3]]),
            "Dropout noise_shape [null, 1, 1] does not fit an input of shape [null, 4, 4, 3]; \(fit)")
        assertThrows(
            try evaluate(
                make(Dropout.self, ["rate": 0.5, "noise_shape": [3, 1, 1, 1]]), batch(2, [4, 4, 3], seed: 1),
                training: true, seed: 1),
            "Dropout noise_shape [3, 1, 1, 1] does not fit an input of shape [null, 4, 4, 3]; \(fit)")
    }

    func testDropoutPruned_rewritesAChannelCountInTheNoiseShape() throws {
        let perChannel = Dropout(rate: 0.2, seed: 3, noiseShape: [nil, 1, 1, 8])
        let pruned = try XCTUnwrap(
            try perChannel.pruned(keptInputs: [[0, 4, 7]], keptOutputs: [0, 4, 7], inputShapes: [[2, 2, 8]]) as? Dropout
        )
        XCTAssertEqual(pruned.config, LayerConfig(["rate": 0.2, "seed": 3, "noise_shape": [.null, 1, 1, 3]]))
        for shape in [[nil, 1, 1, 1], [nil, 1, 1, nil]] as [[Int?]] {
            let layer = Dropout(rate: 0.2, noiseShape: shape)
            XCTAssertEqual(
                try layer.pruned(keptInputs: [[1]], keptOutputs: [1], inputShapes: [[2, 2, 8]]).config, layer.config)
        }
    }

    func testDropout_configRoundTrip() throws {
        assertConfigRoundTrip(Dropout(rate: 0.2, noiseShape: [nil, 1, 1, nil]))
        assertConfigRoundTrip(Dropout(rate: 0.2, noiseShape: [nil, 1, 1, 6]))
        assertConfigRoundTrip(Dropout(rate: 0.25))
        assertConfigRoundTrip(Dropout(rate: 0.3, seed: 1337))
        let layer = try make(Dropout.self, ["rate": 0.3, "seed": 7, "noise_shape": .null])
        XCTAssertEqual(layer.config, LayerConfig(["rate": 0.3, "seed": 7, "noise_shape": .null]))
        XCTAssertEqual(try layer.outputShape(for: [[5, 7, 3]]), [5, 7, 3])
    }
}
