import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class PReLUTests: XCTestCase {
    /// `x >= 0 ? x : alpha[h', w', c'] * x`, where an axis shared by alpha reads its index 0.
    private func reference(_ x: Tensor, alpha: Tensor) -> Tensor {
        var y = x
        let (h, w, c) = (x.shape[1], x.shape[2], x.shape[3])
        for n in 0..<x.shape[0] {
            for i in 0..<h {
                for j in 0..<w {
                    for k in 0..<c {
                        let flat = ((n * h + i) * w + j) * c + k
                        let a = alpha.scalars[
                            ((alpha.shape[0] == 1 ? 0 : i) * alpha.shape[1] + (alpha.shape[1] == 1 ? 0 : j))
                                * alpha.shape[2]
                                + (alpha.shape[2] == 1 ? 0 : k)]
                        if x.scalars[flat] < 0 { y.scalars[flat] = a * x.scalars[flat] }
                    }
                }
            }
        }
        return y
    }

    private func prelu(_ sharedAxes: ConfigValue, input: Shape, seed: UInt64) throws -> PReLU {
        try withRandomWeights(try make(PReLU.self, ["shared_axes": sharedAxes]), inputShapes: [input], seed: seed)
    }

    func testPReLU_matchesReferenceForEverySharing() throws {
        let x = batch(2, [3, 4, 5], seed: 1)
        for (axes, alphaShape) in [
            (ConfigValue.null, [3, 4, 5]), ([1, 2], [1, 1, 5]), ([3], [3, 4, 1]), (2, [3, 1, 5]),
        ] as [(ConfigValue, Shape)] {
            let layer = try prelu(axes, input: [3, 4, 5], seed: 2)
            XCTAssertEqual(try layer.weightShapes(for: [[3, 4, 5]]), [alphaShape], "\(axes)")
            assertClose(try evaluate(layer, x), reference(x, alpha: layer.weights[0]), tolerance: 1e-6, "\(axes)")
        }
        var handMade = PReLU(sharedAxes: [1, 2])
        handMade.weights = [Tensor.literal([1, 1, 2], [0.5, -2])]
        XCTAssertEqual(try evaluate(handMade, Tensor.literal([1, 1, 2, 2], [-2, -2, 3, 1])).scalars, [-1, 4, 3, 1])
    }

    func testPReLU_gradientCheckOfInputsAndAlpha() throws {
        let x = Tensor.distinctValues(shape: [2, 3, 4, 5], seed: 3)
        try checkGradients(try prelu(.null, input: [3, 4, 5], seed: 4), inputs: [x])
        try checkGradients(try prelu([1, 2], input: [3, 4, 5], seed: 5), inputs: [x])
        try checkGradients(try prelu([3], input: [3, 4, 5], seed: 6), inputs: [x])
        try checkGradients(
            try prelu(.null, input: [6], seed: 7), inputs: [Tensor.distinctValues(shape: [3, 6], seed: 8)])
    }

    func testPReLU_weightsAndInitialisers() throws {
        let layer = PReLU(sharedAxes: [1, 2])
        XCTAssertEqual(layer.weightNames, ["alpha"])
        XCTAssertEqual(layer.trainableWeightCount, 1)
        var random = SeededRandom(seed: 1)
        XCTAssertEqual(try layer.initialWeights(for: [[4, 4, 3]], random: &random), [Tensor(shape: [1, 1, 3])])
        let constant = try make(
            PReLU.self,
            [
                "alpha_initializer": .object([
                    "module": "keras.initializers", "class_name": "Constant",
                    "config": .object(["value": 0.25]), "registered_name": .null,
                ])
            ])
        XCTAssertEqual(try constant.initialWeights(for: [[2]], random: &random), [Tensor(shape: [2], repeating: 0.25)])
        XCTAssertEqual(
            try make(PReLU.self, ["alpha_initializer": "ones"]).initialWeights(for: [[2]], random: &random),
            [Tensor(shape: [2], repeating: 1)])
        assertThrows(
            try make(PReLU.self, ["alpha_initializer": "glorot_uniform"]).initialWeights(for: [[2]], random: &random),
            "PReLU alpha_initializer \"glorot_uniform\" is not supported for fresh weights; only zeros, ones or "
                + "constant"
        )
    }

    func testPReLU_rejectsSharedAxesOutsideTheInput() {
        assertThrows(
            try make(PReLU.self, ["shared_axes": [0]]).outputShape(for: [[4, 4, 3]]),
            "PReLU shared_axes [0] must name axes 1...3 of an input of shape [4, 4, 3] (axis 0 is the batch)")
        assertThrows(
            try make(PReLU.self, ["shared_axes": [1, 4]]).outputShape(for: [[4, 4, 3]]),
            "PReLU shared_axes [1, 4] must name axes 1...3 of an input of shape [4, 4, 3] (axis 0 is the batch)")
        assertThrows(
            try make(PReLU.self, ["shared_axes": [.null]]),
            "attribute 'shared_axes' is [null], expected null, an axis or a list of axes")
        var layer = PReLU()
        layer.weights = [Tensor(shape: [4, 4, 3])]
        assertThrows(
            try layer.forward([batch(1, [4, 4, 2], seed: 1)], context: .inference),
            "PReLU with alpha of shape [4, 4, 3] got input [1, 4, 4, 2]; expected alpha [4, 4, 2]")
    }

    func testPReLU_configKeepsOnlyKerasKeys() throws {
        XCTAssertEqual(
            PReLU().config,
            LayerConfig([
                "alpha_initializer": "zeros", "alpha_regularizer": .null, "alpha_constraint": .null,
                "shared_axes": .null,
            ]))
        let read = try make(
            PReLU.self,
            [
                "shared_axes": 1, "alpha_regularizer": .object(["class_name": "L2", "config": .object(["l2": 0.01])]),
                "name": "p", "trainable": true,
            ])
        XCTAssertEqual(
            Set(read.config.values.keys), ["alpha_initializer", "alpha_regularizer", "alpha_constraint", "shared_axes"])
        XCTAssertEqual(read.config["shared_axes"], [1])
        XCTAssertEqual(
            read.config["alpha_regularizer"], .object(["class_name": "L2", "config": .object(["l2": 0.01])]))
        assertConfigRoundTrip(read)
        assertConfigRoundTrip(PReLU(sharedAxes: [1, 2]))
    }

    func testPReLUPruned_slicesAlphasLastAxis() throws {
        let layer = try prelu([1, 2], input: [2, 2, 4], seed: 9)
        let pruned = try XCTUnwrap(
            try layer.pruned(keptInputs: [[0, 3]], keptOutputs: [0, 3], inputShapes: [[2, 2, 4]]) as? PReLU)
        XCTAssertEqual(pruned.weights, [layer.weights[0].selecting([0, 3], alongAxis: 2)])
        XCTAssertEqual(layer.weightChannelAxes, [WeightChannelAxes(output: 2)])
        let sharedChannels = try prelu([3], input: [2, 2, 4], seed: 10)
        XCTAssertEqual(
            try sharedChannels.pruned(keptInputs: [[1]], keptOutputs: [1], inputShapes: [[2, 2, 4]]).weights,
            sharedChannels.weights)
        XCTAssertEqual(sharedChannels.weightChannelAxes, [WeightChannelAxes()])
    }
}
