import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class RescalingTests: XCTestCase {
    /// `x * scale[c] + offset[c]` by explicit channel index.
    private func reference(_ x: Tensor, scale: [Float], offset: [Float]) -> Tensor {
        var y = x
        let c = x.shape.last!
        for i in 0..<x.count {
            let ch = i % c
            y.scalars[i] = Float(
                Double(x.scalars[i]) * Double(scale[scale.count == 1 ? 0 : ch])
                    + Double(offset[offset.count == 1 ? 0 : ch]))
        }
        return y
    }

    func testRescaling_numbersAndPerChannelListsMatchReference() throws {
        let x = batch(2, [4, 5, 3], seed: 1, range: 0...255)
        let cases: [([String: ConfigValue], [Float], [Float])] = [
            (["scale": 0.00392156862745098], [0.00392156862745098], [0]),
            (["scale": 0.00392156862745098, "offset": -0.5], [0.00392156862745098], [-0.5]),
            (["scale": [2, 0.5, -1], "offset": 1], [2, 0.5, -1], [1]),
            (["scale": 3, "offset": [0.1, 0.2, 0.3]], [3], [0.1, 0.2, 0.3]),
            (["scale": [2], "offset": [1]], [2], [1]),
        ]
        for (config, scale, offset) in cases {
            let layer = try make(Rescaling.self, config)
            XCTAssertEqual(try layer.outputShape(for: [[4, 5, 3]]), [4, 5, 3])
            assertClose(
                try evaluate(layer, x), reference(x, scale: scale, offset: offset), tolerance: 1e-6, "\(config)")
        }
        XCTAssertEqual(
            try evaluate(make(Rescaling.self, ["scale": 0.5, "offset": 1]), Tensor.literal([1, 2], [4, -2])).scalars,
            [3, 0])
    }

    func testRescaling_gradientCheck() throws {
        try checkGradients(
            Rescaling(scale: .perChannel([2, -0.5, 1.5]), offset: .uniform(0.3)),
            inputs: [batch(2, [4, 5, 3], seed: 2)])
        try checkGradients(Rescaling(scale: .uniform(0.25)), inputs: [batch(3, [6], seed: 3)])
    }

    func testRescaling_rejectsBadValues() {
        let expected = "expected a number or a non-empty list of numbers (one per channel)"
        assertThrows(try make(Rescaling.self), "attribute 'scale' is missing (\(expected))")
        assertThrows(try make(Rescaling.self, ["scale": "x"]), "attribute 'scale' is \"x\", \(expected)")
        assertThrows(try make(Rescaling.self, ["scale": []]), "attribute 'scale' is [], \(expected)")
        assertThrows(
            try make(Rescaling.self, ["scale": 1, "offset": [1, "a"]]), "attribute 'offset' is [1, \"a\"], \(expected)")
        assertThrows(
            try make(Rescaling.self, ["scale": [1, 2]]).outputShape(for: [[4, 4, 3]]),
            "Rescaling scale [1, 2] does not fit an input of shape [4, 4, 3]: give one number, or one per channel (3)")
        assertThrows(
            try make(Rescaling.self, ["scale": 1, "offset": [1, 2]]).forward(
                [batch(1, [2, 2, 3], seed: 1)], context: .inference),
            "Rescaling offset [1, 2] does not fit an input of shape [2, 2, 3]: give one number, or one per channel (3)")
    }

    func testRescaling_configRoundTrip() throws {
        assertConfigRoundTrip(Rescaling(scale: .uniform(0.5)))
        assertConfigRoundTrip(Rescaling(scale: .perChannel([1, 2, 3]), offset: .perChannel([0, -1, 1])))
        XCTAssertEqual(try make(Rescaling.self, ["scale": 0.5]).config, LayerConfig(["scale": 0.5, "offset": 0]))
        XCTAssertEqual(Rescaling(scale: .uniform(1)).macs(inputShapes: [[2, 3, 4]], outputShape: [2, 3, 4]), 24)
    }

    func testRescalingPruned_keepsTheSurvivingChannelsEntries() throws {
        let layer = Rescaling(scale: .perChannel([1, 2, 3, 4]), offset: .uniform(0.5))
        let pruned = try XCTUnwrap(
            try layer.pruned(keptInputs: [[1, 3]], keptOutputs: [1, 3], inputShapes: [[2, 2, 4]]) as? Rescaling)
        XCTAssertEqual(pruned.scale, .perChannel([2, 4]))
        XCTAssertEqual(pruned.offset, .uniform(0.5))
        let shared = Rescaling(scale: .perChannel([2]))
        XCTAssertEqual(
            (try shared.pruned(keptInputs: [[0]], keptOutputs: [0], inputShapes: [[2, 2, 4]]) as? Rescaling)?.scale,
            .perChannel([2]))
    }
}
