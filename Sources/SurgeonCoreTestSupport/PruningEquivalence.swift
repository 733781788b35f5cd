import SurgeonCore
import XCTest

/// Runs `graph` in inference mode, zeroing after every node the output channels that
/// `deleted` (per group, per group channel) marks: the original model with the plan's channels
/// silenced at every tensor of their groups.
public func maskedPredict(_ graph: Graph, analysis: ChannelAnalysis, deleted: [[Bool]], inputs: [Tensor]) throws -> [Tensor] {
    var values = [Tensor?](repeating: nil, count: graph.nodes.count)
    let sources = graph.inputNodeIndices
    for i in graph.nodes.indices {
        var value: Tensor
        if let k = sources.firstIndex(of: i) {
            value = inputs[k]
        } else {
            value = try graph.nodes[i].layer.forward(graph.inputIndices[i].map { values[$0]! }, context: .inference).value
        }
        let slots = analysis.outputChannels[i]
        let zero = slots.map { deleted[$0.group][$0.index] }
        if zero.contains(true) {
            let c = slots.count
            for base in stride(from: 0, to: value.count, by: c) {
                for j in 0..<c where zero[j] { value.scalars[base + j] = 0 }
            }
        }
        values[i] = value
    }
    return graph.outputNodeIndices.map { values[$0]! }
}

/// A random plan: for each prunable group, a random subset of its channels that leaves at
/// least one (sometimes none deleted).
public func randomPlan(_ analysis: ChannelAnalysis, random: inout SeededRandom) -> PruningPlan {
    PruningPlan(groups: analysis.groups.map { group in
        guard group.prunable, group.size > 1, random.next() % 5 != 0 else { return PruningPlan.Group(group) }
        let count = 1 + Int(random.next() % UInt64(group.size - 1))
        var indices = Array(0..<group.size)
        indices.shuffle(using: &random)
        return PruningPlan.Group(group, delete: Array(indices.prefix(count)))
    })
}

/// The property every surgery rule must satisfy: pruning a plan's channels gives a model whose
/// outputs equal the original's with those channels zeroed at every tensor of their groups;
/// the pruned graph passes `checkInvariants()` and has exactly the kept channels.
/// Returns the pruned graph.
@discardableResult
public func assertPruningIsExact(
    _ graph: Graph, plan: PruningPlan, surgeon: Surgeon, inputs: [Tensor], tolerance: Float = 1e-4,
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) throws -> Graph {
    let analysis = try surgeon.analyze(graph)
    let deleted = try surgeon.validate(plan, against: analysis)
    let pruned = try surgeon.apply(plan, to: graph, analysis: analysis)
    try pruned.checkInvariants()
    let kept = surgeon.keptChannels(analysis, deleted: deleted)
    for i in pruned.nodes.indices where (pruned.shapes[i].last ?? 1) != kept[i].count {
        XCTFail("\(message()): '\(pruned.nodes[i].name)' has \(pruned.shapes[i].last ?? 1) channels, expected \(kept[i].count)",
                file: file, line: line)
    }
    let expected = try maskedPredict(graph, analysis: analysis, deleted: deleted, inputs: inputs)
    let actual = try pruned.predict(inputs)
    for (k, (e, a)) in zip(expected, actual).enumerated() {
        assertClose(a, e, tolerance: tolerance, "\(message()) output \(k)", file: file, line: line)
    }
    return pruned
}

/// Keeping every channel changes nothing: same layers, bit-identical weights and outputs.
public func assertEmptyPlanChangesNothing(
    _ graph: Graph, surgeon: Surgeon, inputs: [Tensor], _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) throws {
    let analysis = try surgeon.analyze(graph)
    let same = try surgeon.apply(PruningPlan(template: analysis), to: graph, analysis: analysis)
    XCTAssertEqual(same.nodes.map(\.name), graph.nodes.map(\.name), message(), file: file, line: line)
    for (a, b) in zip(same.nodes, graph.nodes) {
        XCTAssertEqual(a.layer.config, b.layer.config, "\(message()) \(a.name)", file: file, line: line)
        XCTAssertEqual(a.layer.weights, b.layer.weights, "\(message()) \(a.name)", file: file, line: line)
    }
    XCTAssertEqual(try same.predict(inputs), try graph.predict(inputs), message(), file: file, line: line)
}

/// Gives every BatchNorm-like weight list random but valid values, so that moving statistics
/// take part in the checks (fresh ones are 0 and 1): weights named `moving_variance`, `gamma`
/// or `variance` (Normalization) get values in [0.5, 1.5], the others in [-0.5, 0.5].
public func randomizeWeights(_ graph: inout Graph, seed: UInt64) throws {
    var random = SeededRandom(seed: seed)
    for i in graph.nodes.indices {
        let names = graph.nodes[i].layer.weightNames
        let weights = graph.nodes[i].layer.weights.enumerated().map { k, w -> Tensor in
            var t = w
            let positive = k < names.count && ["moving_variance", "gamma", "variance"].contains(names[k])
            for j in 0..<t.count {
                t.scalars[j] = positive ? random.nextFloat(in: 0.5, 1.5) : random.nextFloat(in: -0.5, 0.5)
            }
            return t
        }
        try graph.setWeights(weights, ofNode: i)
    }
}
