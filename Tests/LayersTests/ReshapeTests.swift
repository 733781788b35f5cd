import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class ReshapeTests: XCTestCase {
    func testReshape_keepsTheValuesInCOrder() throws {
        let x = batch(2, [2, 3, 4], seed: 1)
        for (target, shape) in [
            ([4, 6], [4, 6]), ([-1, 4], [6, 4]), ([3, 2, -1], [3, 2, 4]), ([-1], [24]), ([1, 1, 24], [1, 1, 24]),
        ] {
            let layer = try make(Reshape.self, ["target_shape": .array(target.map { .number(Double($0)) })])
            XCTAssertEqual(try layer.outputShape(for: [[2, 3, 4]]), shape, "\(target)")
            let y = try evaluate(layer, x)
            XCTAssertEqual(y.shape, [2] + shape)
            // Element (n, i) of the flattened sample is the same before and after.
            for n in 0..<2 {
                for i in 0..<24 { XCTAssertEqual(y.scalars[n * 24 + i], x.scalars[n * 24 + i]) }
            }
        }
    }

    func testReshape_squeezeExcitationShapes() throws {
        let toImage = try make(Reshape.self, ["target_shape": [1, 1, 5]])
        XCTAssertEqual(try toImage.outputShape(for: [[5]]), [1, 1, 5])
        let flat = Tensor.literal([2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        XCTAssertEqual(try evaluate(toImage, flat), Tensor.literal([2, 1, 1, 5], flat.scalars))
        let toFlat = try make(Reshape.self, ["target_shape": [-1]])
        XCTAssertEqual(try evaluate(toFlat, Tensor.literal([2, 1, 1, 5], flat.scalars)), flat)
    }

    func testReshape_gradientCheck() throws {
        try checkGradients(try Reshape(targetShape: [-1, 3]), inputs: [batch(2, [4, 5, 3], seed: 2)])
        try checkGradients(try Reshape(targetShape: [1, 1, 6]), inputs: [batch(3, [6], seed: 3)])
    }

    func testReshape_rejectsBadTargetShapesAndInputs() {
        let expected = "expected a non-empty list of positive integers with at most one -1"
        assertThrows(
            try make(Reshape.self, ["target_shape": [-1, -1]]), "attribute 'target_shape' is [-1, -1], \(expected)")
        assertThrows(
            try make(Reshape.self, ["target_shape": [2, 0]]), "attribute 'target_shape' is [2, 0], \(expected)")
        assertThrows(try make(Reshape.self, ["target_shape": []]), "attribute 'target_shape' is [], \(expected)")
        assertThrows(
            try make(Reshape.self, ["target_shape": [.null, 4]]), "attribute 'target_shape' is [null, 4], \(expected)")
        assertThrows(try make(Reshape.self), "attribute 'target_shape' is missing (expected a list of integers)")
        assertThrows(
            try Reshape(targetShape: [5, -1]).outputShape(for: [[2, 3, 4]]),
            "Reshape cannot turn an input of shape [2, 3, 4] (24 values) into target_shape [5, -1]")
        assertThrows(
            try Reshape(targetShape: [5, 5]).outputShape(for: [[2, 3, 4]]),
            "Reshape cannot turn an input of shape [2, 3, 4] (24 values) into target_shape [5, 5]")
        assertThrows(try Reshape(targetShape: [4]).outputShape(for: [[4], [4]]), "expects 1 input(s), got 2")
    }

    func testReshape_configRoundTrip() throws {
        assertConfigRoundTrip(try Reshape(targetShape: [1, 1, -1]))
        assertConfigRoundTrip(try Reshape(targetShape: [7]))
        XCTAssertEqual(try Reshape(targetShape: [1, 1, 3]).config, LayerConfig(["target_shape": [1, 1, 3]]))
    }

    // MARK: - Surgery

    func testReshapeChannelMap_identityWhenTheLastAxisStays_flattenedForWholePixels() throws {
        XCTAssertEqual(try Reshape(targetShape: [1, 1, 8]).channelMap(inputShapes: [[8]]), .identity)
        XCTAssertEqual(try Reshape(targetShape: [-1]).channelMap(inputShapes: [[1, 1, 8]]), .identity)
        XCTAssertEqual(try Reshape(targetShape: [-1, 8]).channelMap(inputShapes: [[3, 4, 8]]), .identity)
        XCTAssertEqual(try Reshape(targetShape: [4, 3, 8]).channelMap(inputShapes: [[3, 4, 8]]), .identity)
        XCTAssertEqual(try Reshape(targetShape: [-1]).channelMap(inputShapes: [[3, 4, 8]]), .flattened)
        XCTAssertEqual(try Reshape(targetShape: [3, 32]).channelMap(inputShapes: [[3, 4, 8]]), .flattened)
    }

    func testReshapeChannelMap_refusesSplittingChannels() {
        assertThrows(
            try Reshape(targetShape: [1, 2, 4]).channelMap(inputShapes: [[8]]),
            "Reshape of an input of shape [8] to target_shape [1, 2, 4] splits its 8 channels across axes; surgery "
                + "supports "
                + "reshapes whose last extent is the channel count (such as [C] -> [1, 1, C] or [1, 1, C] -> [C]) or a "
                + "multiple "
                + "of it ([H, W, C] -> [H * W * C])")
        assertThrows(
            try Reshape(targetShape: [-1, 12]).channelMap(inputShapes: [[3, 4, 8]]),
            containing: ["input of shape [3, 4, 8] to target_shape [-1, 12] splits its 8 channels"])
    }

    func testChannelSplittingReshape_runsButTheSurgeonRefusesItNamingTheLayer() throws {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [4, 4, 3]), name: "input")
        let c = b.add(Conv2D(filters: 8, kernelSize: [1, 1]), name: "conv", inputs: [x])
        let g = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [c])
        let r = b.add(try Reshape(targetShape: [2, 4]), name: "split", inputs: [g])
        let d = b.add(Dense(units: 2), name: "out", inputs: [b.add(Flatten(), name: "flat", inputs: [r])])
        let graph = try b.build(outputs: [d])
        XCTAssertEqual(try graph.predict([batch(1, [4, 4, 3], seed: 1)]).first?.shape, [1, 2])
        assertThrows(
            try Surgeon.standard.analyze(graph),
            "layer 'split' (Reshape) cannot be pruned as planned: Reshape of an input of shape [8] to target_shape [2, "
                + "4] splits "
                + "its 8 channels across axes; surgery supports reshapes whose last extent is the channel count (such "
                + "as "
                + "[C] -> [1, 1, C] or [1, 1, C] -> [C]) or a multiple of it ([H, W, C] -> [H * W * C])")
    }

    func testReshapePruned_rewritesAnExplicitLastExtent() throws {
        let kept = [0, 2, 5]
        let identity = try Reshape(targetShape: [1, 1, 8]).pruned(
            keptInputs: [kept], keptOutputs: kept, inputShapes: [[8]])
        XCTAssertEqual((identity as? Reshape)?.targetShape, [1, 1, 3])
        let inferred = try Reshape(targetShape: [1, 1, -1]).pruned(
            keptInputs: [kept], keptOutputs: kept, inputShapes: [[8]])
        XCTAssertEqual((inferred as? Reshape)?.targetShape, [1, 1, -1])
        let rows = try Reshape(targetShape: [-1, 8]).pruned(
            keptInputs: [kept], keptOutputs: kept, inputShapes: [[2, 2, 8]])
        XCTAssertEqual((rows as? Reshape)?.targetShape, [-1, 3])
        // Flattening [2, 8] to [16]: output features k with k % 8 in kept survive.
        let features = [0, 2, 5, 8, 10, 13]
        let flat = try Reshape(targetShape: [16]).pruned(
            keptInputs: [kept], keptOutputs: features, inputShapes: [[2, 8]])
        XCTAssertEqual((flat as? Reshape)?.targetShape, [6])
    }
}
