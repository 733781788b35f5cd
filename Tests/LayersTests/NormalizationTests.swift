import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonTestSupport
import XCTest

final class NormalizationTests: XCTestCase {
    /// `(x - mean[c]) / max(sqrt(variance[c]), 1e-7)` in Double, by explicit channel index.
    private func reference(_ x: Tensor, mean: [Float], variance: [Float]) -> Tensor {
        var y = x
        let c = x.shape.last!
        for i in 0..<x.count {
            let ch = i % c
            let std = Swift.max(Double(variance[ch]).squareRoot(), 1e-7)
            y.scalars[i] = Float((Double(x.scalars[i]) - Double(mean[ch])) / std)
        }
        return y
    }

    /// A layer with its statistics as weights.
    private func adapted(mean: [Float], variance: [Float]) -> Normalization {
        var layer = Normalization()
        layer.weights = [
            Tensor.literal([mean.count], mean), Tensor.literal([variance.count], variance),
            Tensor(shape: [], repeating: 20),
        ]
        return layer
    }

    func testNormalization_weightsOrConfigListsMatchReference() throws {
        let x = batch(2, [4, 5, 3], seed: 1, range: -3...3)
        let mean: [Float] = [0.5, -1, 2], variance: [Float] = [4, 0.25, 0]
        let expected = reference(x, mean: mean, variance: variance)
        assertClose(try evaluate(adapted(mean: mean, variance: variance), x), expected, tolerance: 1e-5)
        let listed = try make(Normalization.self, ["axis": [-1], "mean": [0.5, -1, 2], "variance": [4, 0.25, 0]])
        assertClose(try evaluate(listed, x), expected, tolerance: 1e-5)
        let scalar = try make(Normalization.self, ["mean": 1, "variance": 4])
        assertClose(try evaluate(scalar, x), reference(x, mean: [1, 1, 1], variance: [4, 4, 4]), tolerance: 1e-6)
        // A zero variance divides by 1e-7, as Keras's backend.epsilon().
        let constant = try make(Normalization.self, ["mean": 0, "variance": 0])
        XCTAssertEqual(try evaluate(constant, Tensor.literal([1, 1], [1e-6])).scalars[0], 10, accuracy: 1e-4)
    }

    func testNormalization_readsEveryLastAxisForm() throws {
        for axis: ConfigValue in [-1, [-1], 3, [3]] {
            let layer = try make(Normalization.self, ["axis": axis])
            XCTAssertEqual(try layer.outputShape(for: [[4, 5, 3]]), [4, 5, 3], "\(axis)")
            assertConfigRoundTrip(layer)
            XCTAssertEqual(layer.config["axis"], axis)
        }
        XCTAssertEqual(try make(Normalization.self, ["axis": 1]).outputShape(for: [[6]]), [6])
    }

    func testNormalization_weightsAreThreeNonTrainableInKerasOrder() throws {
        let layer = Normalization()
        XCTAssertEqual(layer.weightNames, ["mean", "variance", "count"])
        XCTAssertEqual(layer.trainableWeightCount, 0)
        XCTAssertEqual(try layer.weightShapes(for: [[4, 5, 3]]), [[3], [3], []])
        var random = SeededRandom(seed: 1)
        XCTAssertEqual(
            try layer.initialWeights(for: [[4, 5, 3]], random: &random),
            [Tensor(shape: [3]), Tensor(shape: [3], repeating: 1), Tensor(shape: [])])
        let listed = Normalization(mean: .uniform(0), variance: .uniform(1))
        XCTAssertEqual(listed.weightNames, [])
        XCTAssertEqual(try listed.weightShapes(for: [[4, 5, 3]]), [])
    }

    func testNormalizationTraining_neverChangesTheStatistics() throws {
        let layer = adapted(mean: [1, 2], variance: [3, 4])
        let x = batch(4, [3, 3, 2], seed: 2)
        let out = try layer.forward([x], context: ForwardContext(training: true, seed: 1))
        XCTAssertNil(out.updatedState)
        XCTAssertEqual(out.value, try evaluate(layer, x))
        let g = try layer.backward(
            Tensor(shape: x.shape, repeating: 1), inputs: [x], output: out, context: ForwardContext(training: true))
        XCTAssertEqual(g.weights, [])
    }

    func testNormalization_gradientCheck() throws {
        try checkGradients(
            adapted(mean: [0.5, -1, 2], variance: [4, 0.25, 1]), inputs: [batch(2, [4, 5, 3], seed: 3)])
        try checkGradients(
            Normalization(mean: .perChannel([1, 2]), variance: .uniform(0.5)), inputs: [batch(3, [2], seed: 4)])
    }

    func testNormalization_refusesWhatItDoesNotSupport() {
        assertThrows(
            try make(Normalization.self, ["invert": true]),
            "Normalization with invert = true is not supported; only invert = false")
        assertThrows(
            try make(Normalization.self, ["axis": [1, 2]]),
            "Normalization over axis [1, 2] is not supported; only the last (channel) axis (-1)")
        assertThrows(
            try make(Normalization.self, ["axis": .null]),
            "Normalization over axis null is not supported; only the last (channel) axis (-1)")
        assertThrows(
            try make(Normalization.self, ["axis": 1]).outputShape(for: [[4, 5, 3]]),
            "Normalization over axis 1 is not supported for an input of rank 4; only the last (channel) axis (-1 or 3)")
        assertThrows(
            try make(Normalization.self, ["mean": [1, 2]]),
            "attribute 'variance' is null, expected a value when 'mean' is given (both or neither)")
        assertThrows(
            try make(Normalization.self, ["variance": 2, "mean": .null]),
            "attribute 'mean' is null, expected a value when 'variance' is given (both or neither)")
        assertThrows(
            try make(Normalization.self, ["mean": [1, 2], "variance": [1, 2]]).outputShape(for: [[4, 4, 3]]),
            "Normalization mean [1, 2] does not fit an input of shape [4, 4, 3]: give one number, or one per channel "
                + "(3)"
        )
    }

    func testNormalization_configRoundTrip() throws {
        assertConfigRoundTrip(Normalization())
        assertConfigRoundTrip(Normalization(mean: .perChannel([1, 2, 3]), variance: .perChannel([4, 5, 6])))
        XCTAssertEqual(
            Normalization().config, LayerConfig(["axis": [-1], "invert": false, "mean": .null, "variance": .null]))
        XCTAssertEqual(
            try make(Normalization.self, ["mean": 1, "variance": [2]]).config,
            LayerConfig(["axis": [-1], "invert": false, "mean": 1, "variance": [2]]))
    }

    func testNewLayers_roundTripThroughTheModelFileWithAScalarCount() throws {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [4, 4, 3]), name: "input")
        let n = b.add(Normalization(), name: "norm", inputs: [x])
        let r = b.add(Rescaling(scale: .perChannel([1, 2, 3])), name: "rescale", inputs: [n])
        let c = b.add(Conv2D(filters: 4, kernelSize: [1, 1]), name: "conv", inputs: [r])
        let p = b.add(PReLU(sharedAxes: [1, 2]), name: "prelu", inputs: [c])
        let g = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [p])
        let s = b.add(try Reshape(targetShape: [1, 1, -1]), name: "reshape", inputs: [g])
        let m = b.add(Multiply(), name: "excite", inputs: [p, s])
        let l = b.add(LeakyReLU(), name: "leaky", inputs: [m])
        let d = b.add(Dropout(rate: 0.2, noiseShape: [nil, 1, 1, 1]), name: "drop", inputs: [l])
        let o = b.add(
            Maximum(), name: "max",
            inputs: [b.add(Subtract(), name: "sub", inputs: [d, p]), b.add(Average(), name: "avg", inputs: [d, p])])
        var graph = try b.build(outputs: [o], seed: 1)
        try randomizeWeights(&graph, seed: 2)
        let loaded = try ModelFile.decode(
            try ModelFile.encode(ModelFile.Contents(graph: graph)), source: "new.surgeon",
            registry: .standard
        ).graph
        try loaded.checkInvariants()
        XCTAssertEqual(loaded.nodes.map(\.layer.config), graph.nodes.map(\.layer.config))
        XCTAssertEqual(loaded["norm"]?.layer.weights.map(\.shape), [[3], [3], []])
        XCTAssertEqual(loaded.nodes.map(\.layer.weights), graph.nodes.map(\.layer.weights))
        let input = batch(2, [4, 4, 3], seed: 3)
        XCTAssertEqual(try loaded.predict([input]), try graph.predict([input]))
    }

    func testNormalizationPruned_slicesMeanAndVarianceWhereverTheyLive() throws {
        let weights = try XCTUnwrap(
            try adapted(mean: [1, 2, 3, 4], variance: [5, 6, 7, 8])
                .pruned(keptInputs: [[0, 2]], keptOutputs: [0, 2], inputShapes: [[2, 2, 4]]) as? Normalization)
        XCTAssertEqual(
            weights.weights,
            [Tensor.literal([2], [1, 3]), Tensor.literal([2], [5, 7]), Tensor(shape: [], repeating: 20)])
        let listed = try XCTUnwrap(
            try make(Normalization.self, ["axis": 3, "mean": [1, 2, 3, 4], "variance": 2])
                .pruned(keptInputs: [[0, 2]], keptOutputs: [0, 2], inputShapes: [[2, 2, 4]]) as? Normalization)
        XCTAssertEqual(listed.config, LayerConfig(["axis": 3, "invert": false, "mean": [1, 3], "variance": 2]))
        XCTAssertEqual(Normalization().weightChannelAxes.count, 0, "no weights yet")
        XCTAssertEqual(
            adapted(mean: [1], variance: [1]).weightChannelAxes,
            [WeightChannelAxes(output: 0), WeightChannelAxes(output: 0), WeightChannelAxes()])
    }
}
