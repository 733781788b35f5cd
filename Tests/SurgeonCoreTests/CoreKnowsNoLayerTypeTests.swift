import SurgeonCore
import SurgeonCoreTestSupport
import XCTest

/// The core works from the registry alone: a registry of test-only types reads, computes,
/// analyses, prunes and trains; a type without a surgery rule, or a rule that is not
/// registered, is refused by name; an empty registry knows nothing.
final class CoreKnowsNoLayerTypeTests: XCTestCase {
    override func setUp() {
        Compute.setThreads(2)
    }

    /// `graph` rebuilt from class names, configurations and weights through `registry`: what a
    /// model reader does, without a file format.
    private func reloaded(_ graph: Graph, registry: LayerRegistry) throws -> Graph {
        let nodes = try graph.nodes.map { node in
            var layer = try registry.makeLayer(className: node.layer.kerasClassName, config: node.layer.config)
            layer.weights = node.layer.weights
            return Node(node.name, layer, inputs: node.inputs)
        }
        return try Graph(nodes: nodes, outputs: graph.outputNames)
    }

    private func withOpaque() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(Source(shape: [3, 3, 2]), name: "input")
        let c = b.add(Projection(units: 3), name: "conv", inputs: [x])
        let d = b.add(Opaque(), name: "double", inputs: [c])
        let m = b.add(ChannelMean(), name: "mean", inputs: [d])
        let head = b.add(Projection(units: 2), name: "head", inputs: [m])
        return try b.build(outputs: [head], seed: 1)
    }

    func testRegistryOfTestLayersOnly_readsAnalysesAppliesAPlanAndTrains() throws {
        let graph = try reloaded(smallNet(), registry: TestLayers.registry)
        let data = try quadrantData(count: 128, seed: 1)
        XCTAssertEqual(try graph.predict([data.images]), try smallNet().predict([data.images]))
        let analysis = try TestLayers.surgeon.analyze(graph)
        let conv = try group(of: "conv", in: graph, analysis)
        XCTAssertEqual(
            conv.members.map(\.type),
            ["TestProjection", "TestAffine", "TestRectifier", "TestFlatten", "TestProjection"])
        XCTAssertEqual(analysis.prunableGroups.map(\.id), [conv.id])
        var plan = PruningPlan(template: analysis)
        plan.groups[conv.id].delete = [0, 2, 4]
        let pruned = try assertPruningIsExact(graph, plan: plan, surgeon: TestLayers.surgeon, inputs: [data.images])
        XCTAssertEqual(try node("logits", in: pruned).layer.weights[0].shape, [48, 4])
        let trained = try Trainer(configuration: TrainingConfiguration(epochs: 4, batchSize: 16, learningRate: 0.1))
            .fit(pruned, train: data, validation: try quadrantData(count: 64, seed: 2))
        XCTAssertGreaterThan(try XCTUnwrap(trained.history.last?.validationAccuracy), 0.9)
        let after = try TestLayers.surgeon.analyze(trained.last)
        XCTAssertEqual(try group(of: "conv", in: trained.last, after).size, 3)
    }

    func testLayerWithoutSurgeryRule_loadsAndComputes() throws {
        let opaque = try TestLayers.registryWithOpaque.makeLayer(className: "TestOpaque", config: LayerConfig())
        XCTAssertTrue(opaque is Opaque)
        let graph = try reloaded(withOpaque(), registry: TestLayers.registryWithOpaque)
        let x = Tensor.random(shape: [2, 3, 3, 2], seed: 4)
        let tape = try graph.forwardTraining([x], context: ForwardContext(training: true))
        let double = try index(of: "double", in: graph), conv = try index(of: "conv", in: graph)
        XCTAssertEqual(tape.outputs[double].value, tape.outputs[conv].value.map { 2 * $0 })
        let grads = try graph.backward(tape, outputGradients: [Tensor(shape: [2, 2], repeating: 1)])
        XCTAssertEqual(grads[conv].count, 2)
    }

    func testLayerWithoutSurgeryRule_isRefusedBySurgeryNamingItAndTheTypesWithRules() throws {
        let registry = TestLayers.registryWithOpaque
        let surgeon = Surgeon(registry: registry)
        let graph = try withOpaque()
        let expected = SurgeryError.unsupportedLayer(
            node: "double", type: "TestOpaque", inputs: ["conv"],
            supported: registry.surgeryRuleNames)
        let message =
            "layer 'double' of type TestOpaque (reading 'conv') has no surgery rule, so the model cannot be pruned; "
            + "supported types: TestAffine, TestChannelMean, TestFanOut, TestFlatten, TestJoin, TestProbabilities, "
            + "TestProjection, "
            + "TestRectifier, TestSource, TestSum"
        XCTAssertEqual(
            registry.surgeryRuleNames.joined(separator: ", "), message.components(separatedBy: "supported types: ").last
        )
        XCTAssertThrowsError(try surgeon.analyze(graph)) { error in
            XCTAssertEqual(error as? SurgeryError, expected)
            XCTAssertEqual("\(error)", message)
        }
        let plan = PruningPlan(groups: [])
        assertThrows(try surgeon.apply(plan, to: graph), message)
        assertThrows(
            try surgeon.apply(plan, to: graph, compensating: .exact, probe: Tensor(shape: [1, 3, 3, 2])), message)
    }

    func testRuleOfAnUnregisteredType_isRefused() throws {
        var registry = LayerRegistry()
        try registry.register([Source.self, Projection.self])
        var b = GraphBuilder()
        let x = b.add(Source(shape: [2, 2, 2]), name: "input")
        let f = b.add(FanOut(multiplier: 2), name: "fan", inputs: [x])
        let head = b.add(Projection(units: 2), name: "head", inputs: [f])
        let graph = try b.build(outputs: [head])
        assertThrows(
            try Surgeon(registry: registry).analyze(graph),
            "layer 'fan' of type TestFanOut (reading 'input') has no surgery rule, so the model cannot be pruned; "
                + "supported types: TestProjection, TestSource")
    }

    func testEmptyRegistry_refusesEveryLayer() throws {
        let empty = LayerRegistry()
        XCTAssertEqual(empty.names, [])
        XCTAssertEqual(empty.surgeryRuleNames, [])
        assertThrows(
            try Surgeon(registry: empty).analyze(smallNet()),
            "layer 'input' of type TestSource (a graph input) has no surgery rule, so the model cannot be pruned; "
                + "supported types: ")
        assertThrows(
            try empty.makeLayer(className: "Conv2D", config: LayerConfig()), "unknown layer type 'Conv2D'; supported: ")
    }

    // MARK: - The registry

    func testHasSurgeryRule_isTrueOnlyForRegisteredTypesThatAdoptIt() {
        let registry = TestLayers.registryWithOpaque
        XCTAssertTrue(registry.hasSurgeryRule("TestProjection"))
        XCTAssertFalse(registry.hasSurgeryRule("TestOpaque"), "registered, but no rule")
        XCTAssertFalse(registry.hasSurgeryRule("Conv2D"), "not registered")
        XCTAssertFalse(TestLayers.registry.hasSurgeryRule("TestOpaque"))
        XCTAssertEqual(registry.names, (TestLayers.ruleTypes + [Opaque.self]).map { $0.kerasClassName }.sorted())
        XCTAssertEqual(registry.surgeryRuleNames, registry.names.filter { $0 != "TestOpaque" })
        XCTAssertEqual(registry.registeredTypes.map { $0.kerasClassName }, registry.names)
        XCTAssertTrue(registry.type(named: "TestFanOut") == FanOut.self)
        XCTAssertNil(registry.type(named: "Conv2D"))
    }

    func testRegisteringADuplicateName_throwsNamingTheType() {
        var registry = TestLayers.registry
        XCTAssertThrowsError(try registry.register(Projection.self)) { error in
            XCTAssertEqual(error as? RegistryError, .duplicate(kind: "layer type", name: "TestProjection"))
            XCTAssertEqual("\(error)", "a layer type named 'TestProjection' is already registered")
        }
        XCTAssertEqual(registry.names, TestLayers.registry.names)
    }

    func testRegisteringAListWithADuplicate_stopsAtTheDuplicate() {
        var registry = LayerRegistry()
        XCTAssertThrowsError(try registry.register([Source.self, Projection.self, Source.self, Sum.self])) { error in
            XCTAssertEqual("\(error)", "a layer type named 'TestSource' is already registered")
        }
        XCTAssertEqual(
            registry.names, ["TestProjection", "TestSource"],
            "the types before the duplicate stay, the rest are not added")
    }

    func testUnknownClassName_listsTheRegisteredTypes() {
        assertThrows(
            try TestLayers.registry.makeLayer(className: "Conv2D", config: LayerConfig()),
            "unknown layer type 'Conv2D'; supported: " + TestLayers.registry.names.joined(separator: ", "))
    }

    func testBadConfig_isRefusedByTheType() {
        assertThrows(
            try TestLayers.registry.makeLayer(className: "TestProjection", config: LayerConfig(["units": 0])),
            "attribute 'units' is 0, expected a positive integer")
    }
}
