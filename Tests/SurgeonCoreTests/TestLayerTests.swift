import SurgeonCore
import SurgeonCoreTestSupport
import XCTest

/// The test-only layers are exact: every backward pass against finite differences, every
/// surgery rule through the generic check, every config through the registry. Both checks are
/// shown to fail on a deliberately wrong layer.
final class TestLayerTests: XCTestCase {
    /// Seeded inputs for an example: `[2] + shape` per input, away from the rectifier's kink.
    private func inputs(for example: LayerExample) -> (shapes: [Shape], tensors: [Tensor]) {
        let shapes = example.inputShapes(height: 3, width: 2, channels: 3)
        return (
            shapes,
            shapes.enumerated().map { k, shape in Tensor.distinctValues(shape: [2] + shape, seed: UInt64(k) + 1) }
        )
    }

    func testEveryTestLayer_declaresExamplesExceptTheGraphInput() {
        for type in TestLayers.registryWithOpaque.registeredTypes where type != Source.self {
            XCTAssertFalse(type.examples.isEmpty, "\(type.kerasClassName) declares no example")
        }
    }

    func testEveryTestLayer_backwardMatchesFiniteDifferences() throws {
        var checked = 0
        for type in TestLayers.registryWithOpaque.registeredTypes {
            for example in type.examples {
                let (shapes, xs) = inputs(for: example)
                let layer = try withRandomWeights(try example.make(), inputShapes: shapes, seed: 5)
                let report = try checkGradients(layer, inputs: xs, label: example.name)
                XCTAssertGreaterThan(report.checkedElements, 0, example.name)
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 16)
    }

    func testEveryTestLayer_roundTripsItsConfigThroughTheRegistry() throws {
        for type in TestLayers.registryWithOpaque.registeredTypes {
            for example in type.examples {
                let layer = try example.make()
                let again = try TestLayers.registryWithOpaque.makeLayer(
                    className: layer.kerasClassName, config: layer.config)
                XCTAssertTrue(Swift.type(of: again) == Swift.type(of: layer), example.name)
                XCTAssertEqual(again.config, layer.config, example.name)
            }
        }
        let source = try TestLayers.registry.makeLayer(
            className: "TestSource", config: Source(shape: [2, 3, 1]).config)
        XCTAssertEqual((source as? Source)?.shape, [2, 3, 1])
    }

    func testEveryTestRule_passesTheGenericSurgeryCheck() throws {
        for type in TestLayers.registry.registeredTypes {
            for example in type.examples { try checkTestRule(example) }
        }
    }

    // MARK: - The checks can fail

    /// Doubles its input but claims the gradient passes unchanged.
    private struct WrongBackward: Layer {
        static let kerasClassName = "TestWrongBackward"
        var weights: [Tensor] = []
        init() {}
        init(config: LayerConfig) throws {}
        var config: LayerConfig { LayerConfig() }
        func outputShape(for inputShapes: [Shape]) throws -> Shape { inputShapes[0] }
        func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
            var y = inputs[0]
            y.scale(by: 2)
            return LayerOutput(y)
        }
        func backward(
            _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
        ) throws -> LayerGradients {
            LayerGradients(inputs: [outputGradient])
        }
    }

    func testGradientCheck_rejectsAWrongBackward() throws {
        let report = try checkGradients(
            WrongBackward(), inputs: [Tensor.random(shape: [2, 3], seed: 1)], reportFailures: false)
        XCTAssertEqual(report.mismatches, report.checkedElements)
        XCTAssertGreaterThan(report.worstRatio, 1)
    }

    /// An affine map whose rule keeps the first channels instead of the surviving ones.
    private struct WrongRule: Layer, SurgeryRule {
        static let kerasClassName = "TestWrongRule"
        var inner = ChannelAffine()
        var weights: [Tensor] {
            get { inner.weights }
            set { inner.weights = newValue }
        }
        init() {}
        init(config: LayerConfig) throws {}
        var config: LayerConfig { LayerConfig() }
        var trainableWeightCount: Int { 2 }
        var weightNames: [String] { inner.weightNames }
        func outputShape(for inputShapes: [Shape]) throws -> Shape { try inner.outputShape(for: inputShapes) }
        func weightShapes(for inputShapes: [Shape]) throws -> [Shape] { try inner.weightShapes(for: inputShapes) }
        func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] {
            try inner.initialWeights(for: inputShapes, random: &random)
        }
        func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
            try inner.forward(inputs, context: context)
        }
        func backward(
            _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
        ) throws -> LayerGradients {
            try inner.backward(outputGradient, inputs: inputs, output: output, context: context)
        }
        func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }
        func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
            var layer = self
            layer.weights = weights.map { $0.selecting(Array(0..<keptOutputs.count), alongAxis: 0) }
            return layer
        }
    }

    func testMaskedEquivalence_rejectsAWrongRule() throws {
        var registry = TestLayers.registry
        try registry.register(WrongRule.self)
        let surgeon = Surgeon(registry: registry)
        var graph = try harness(LayerExample("TestWrongRule") { WrongRule() }, seed: 1)
        try randomizeWeights(&graph, seed: 2)
        let analysis = try surgeon.analyze(graph)
        var plan = PruningPlan(template: analysis)
        let subject = try group(of: "subject", in: graph, analysis)
        plan.groups[subject.id].delete = [0]
        let deleted = try surgeon.validate(plan, against: analysis)
        let input = Tensor.random(shape: [2] + graph.shapes[graph.inputNodeIndices[0]], seed: 3)
        let expected = try maskedPredict(graph, analysis: analysis, deleted: deleted, inputs: [input])
        let actual = try surgeon.apply(plan, to: graph, analysis: analysis).predict([input])
        XCTAssertGreaterThan(actual[0].maxAbsDifference(expected[0]), 1e-3, "the wrong rule must be caught")
    }
}
