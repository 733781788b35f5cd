import SurgeonCore
import SurgeonCoreTestSupport
import XCTest

/// A harness the test layers cannot build.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
}

/// The generic surgery check, over the test layers: the example is placed after producers
/// (`TestProjection -> TestAffine`, averaged to `[C]` for a flat input) and before consumers (a
/// projection and a mean head, and a flattening side head), given random weights and random
/// plans; then keeping every channel changes nothing, and pruning equals the original with the
/// deleted channels zeroed at every tensor of their groups. A failure names the case and seed.
func checkTestRule(
    _ example: LayerExample, surgeon: Surgeon = TestLayers.surgeon, seeds: Range<UInt64> = 0..<4,
    file: StaticString = #filePath, line: UInt = #line
) throws {
    for seed in seeds {
        let label = "\(example.name), seed \(seed)"
        var graph = try harness(example, seed: seed)
        try graph.checkInvariants()
        try randomizeWeights(&graph, seed: seed &+ 100)
        let input = Tensor.random(shape: [3] + graph.shapes[graph.inputNodeIndices[0]], seed: seed &+ 200)
        try assertEmptyPlanChangesNothing(graph, surgeon: surgeon, inputs: [input], label, file: file, line: line)
        let analysis = try surgeon.analyze(graph)
        if let subject = graph["subject"]?.layer as? any SurgeryRule, subject.outputChannelsArePrunable {
            XCTAssertFalse(analysis.prunableGroups.isEmpty, "\(label): nothing to prune", file: file, line: line)
        }
        var random = SeededRandom(seed: seed &+ 300)
        for attempt in 0..<3 {
            let plan = randomPlan(analysis, random: &random)
            try assertPruningIsExact(
                graph, plan: plan, surgeon: surgeon, inputs: [input], tolerance: 1e-4,
                "\(label), plan \(attempt)", file: file, line: line)
        }
    }
}

/// input -> (TestProjection -> TestAffine [-> TestChannelMean]) per input -> "subject" -> consumers.
func harness(_ example: LayerExample, seed: UInt64) throws -> Graph {
    var random = SeededRandom(seed: seed)
    let height = 2 + Int(random.next() % 3), width = 2 + Int(random.next() % 3)
    let randomChannels = 3 + Int(random.next() % 4)
    let channels = example.channels ?? randomChannels
    var b = GraphBuilder()
    let x = b.add(Source(shape: [height, width, 3]), name: "input")
    var producers: [String] = []
    for (k, form) in example.inputForms.enumerated() {
        var p = b.add(Projection(units: channels), name: "producer_\(k)", inputs: [x])
        p = b.add(ChannelAffine(), name: "producer_\(k)_affine", inputs: [p])
        switch form {
        case .image: break
        case .flat: p = b.add(ChannelMean(), name: "producer_\(k)_mean", inputs: [p])
        case .pooled: throw HarnessError(description: "\(example.name): the test harness has no [1, 1, C] input form")
        }
        producers.append(p)
    }
    let y = b.add(try example.make(), name: "subject", inputs: producers)
    let shape = try Graph(nodes: b.nodes, outputs: [y]).shapes.last ?? []
    var outputs: [String] = []
    if shape.count == 1 {
        outputs.append(b.add(Projection(units: 3), name: "head", inputs: [y]))
    } else {
        let c = b.add(Projection(units: 4), name: "consumer", inputs: [y])
        let m = b.add(ChannelMean(), name: "consumer_mean", inputs: [c])
        outputs.append(b.add(Projection(units: 3), name: "head", inputs: [m]))
        let f = b.add(Flat(), name: "side_flat", inputs: [y])
        outputs.append(b.add(Projection(units: 2), name: "side_head", inputs: [f]))
    }
    return try b.build(outputs: outputs, seed: seed)
}
