import Layers
import SurgeonCore
import XCTest

/// How to put a layer type into the generic surgery checker: a layer type's own example.
public typealias SurgeryRuleCase = LayerExample

/// The shape in which the checker's harness feeds one input of the layer under test.
public typealias SurgeryRuleInput = LayerExample.Input

/// The generic check every registered surgery rule passes, on seeded random cases: the layer
/// is placed after producers (Conv2D + BatchNorm per input) and before consumers (a 1x1 Conv2D
/// and a global-pooling Dense head, or a Dense for flat outputs), given random weights and
/// random plans; then
/// - keeping every channel changes nothing (bit-identical weights and outputs),
/// - pruning equals the original with the deleted channels zeroed at every tensor of their
///   group (outputs equal to `tolerance`),
/// - the pruned graph passes `checkInvariants()`, with BatchNorm statistics sliced alike.
///
/// An example without inputs (a graph input such as `InputLayer`) is the harness's graph input
/// itself, followed by one producer and the consumers: its channels must stay pinned (a plan
/// that touched them would make its rule throw). A failure names the case and the seed.
public func checkSurgeryRule(
    _ ruleCase: SurgeryRuleCase, surgeon: Surgeon = .standard, seeds: Range<UInt64> = 0..<6, tolerance: Float = 1e-4,
    file: StaticString = #filePath, line: UInt = #line
) throws {
    for problem in try surgeryRuleProblems(ruleCase, surgeon: surgeon, seeds: seeds, tolerance: tolerance) {
        XCTFail(problem, file: file, line: line)
    }
}

/// What `checkSurgeryRule` would report, without failing the test: empty when the rule
/// passes (so that a test can show that the checker rejects a wrong rule).
public func surgeryRuleProblems(
    _ ruleCase: SurgeryRuleCase, surgeon: Surgeon = .standard, seeds: Range<UInt64> = 0..<6, tolerance: Float = 1e-4
) throws -> [String] {
    var problems: [String] = []
    for seed in seeds {
        let label = "\(ruleCase.name), seed \(seed)"
        var graph = try harness(ruleCase, seed: seed)
        try graph.checkInvariants()
        try randomizeWeights(&graph, seed: seed &+ 100)
        let input = Tensor.random(shape: [3] + graph.shapes[graph.inputNodeIndices[0]], seed: seed &+ 200)
        problems += try emptyPlanProblems(graph, surgeon: surgeon, inputs: [input], label)
        let analysis = try surgeon.analyze(graph)
        if analysis.prunableGroups.isEmpty { problems.append("\(label): nothing to prune") }
        var random = SeededRandom(seed: seed &+ 300)
        for attempt in 0..<3 {
            let plan = randomPlan(analysis, random: &random)
            problems += try pruningProblems(
                graph, plan: plan, surgeon: surgeon, inputs: [input], tolerance: tolerance,
                "\(label), plan \(attempt)"
            ).problems
        }
    }
    return problems
}

/// input -> (Conv2D -> BatchNorm [-> pooling]) per layer input -> the layer -> consumers; for
/// an example without inputs, the layer -> Conv2D -> BatchNorm -> consumers.
func harness(_ ruleCase: SurgeryRuleCase, seed: UInt64) throws -> Graph {
    var random = SeededRandom(seed: seed)
    let height = 5 + Int(random.next() % 4), width = 5 + Int(random.next() % 4)
    let randomChannels = 4 + Int(random.next() % 4)
    let channels = ruleCase.channels ?? randomChannels
    var b = GraphBuilder()
    var y: String
    if ruleCase.inputForms.isEmpty {
        let input = b.add(try ruleCase.make(), name: "subject")
        let p = b.add(
            Conv2D(filters: channels, kernelSize: [3, 3], padding: .same), name: "producer_0", inputs: [input])
        y = b.add(BatchNormalization(), name: "producer_0_bn", inputs: [p])
    } else {
        let x = b.add(InputLayer(shape: [height, width, 3]), name: "input")
        var producers: [String] = []
        for (k, form) in ruleCase.inputForms.enumerated() {
            var p = b.add(
                Conv2D(filters: channels, kernelSize: [3, 3], padding: .same), name: "producer_\(k)", inputs: [x])
            p = b.add(BatchNormalization(), name: "producer_\(k)_bn", inputs: [p])
            switch form {
            case .image: break
            case .pooled: p = b.add(GlobalAveragePooling2D(keepdims: true), name: "producer_\(k)_pool", inputs: [p])
            case .flat: p = b.add(GlobalAveragePooling2D(), name: "producer_\(k)_pool", inputs: [p])
            }
            producers.append(p)
        }
        y = b.add(try ruleCase.make(), name: "subject", inputs: producers)
    }
    let shape = try Graph(nodes: b.nodes, outputs: [y]).shapes.last!
    var outputs: [String] = []
    if shape.count == 3 {
        let c = b.add(Conv2D(filters: 4, kernelSize: [1, 1]), name: "consumer", inputs: [y])
        let g = b.add(GlobalAveragePooling2D(), name: "consumer_pool", inputs: [c])
        outputs.append(b.add(Dense(units: 3), name: "head", inputs: [g]))
        let g2 = b.add(GlobalMaxPooling2D(), name: "side_pool", inputs: [y])
        outputs.append(b.add(Dense(units: 2), name: "side_head", inputs: [g2]))
    } else if shape.count == 1 {
        outputs.append(b.add(Dense(units: 3), name: "head", inputs: [y]))
    } else {
        let f = b.add(Flatten(), name: "consumer_flatten", inputs: [y])
        outputs.append(b.add(Dense(units: 3), name: "head", inputs: [f]))
    }
    return try b.build(outputs: outputs, seed: seed)
}
