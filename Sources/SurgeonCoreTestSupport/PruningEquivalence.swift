import SurgeonCore
import XCTest

/// Runs `graph` in inference mode, zeroing after every node the output channels that
/// `deleted` (per group, per group channel) marks: the original model with the plan's channels
/// silenced at every tensor of their groups.
public func maskedPredict(
    _ graph: Graph, analysis: ChannelAnalysis, deleted: [[Bool]], inputs: [Tensor]
) throws -> [Tensor] {
    var values = [Tensor?](repeating: nil, count: graph.nodes.count)
    let sources = graph.inputNodeIndices
    for i in graph.nodes.indices {
        var value: Tensor
        if let k = sources.firstIndex(of: i) {
            value = inputs[k]
        } else {
            value = try graph.nodes[i].layer.forward(graph.inputIndices[i].map { values[$0]! }, context: .inference)
                .value
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
/// least one (sometimes none deleted), and one in every channel split. A group split into
/// blocks (a grouped convolution's) loses the same random number from every block; a
/// `coupled` one is left alone.
public func randomPlan(_ analysis: ChannelAnalysis, random: inout SeededRandom) -> PruningPlan {
    analysis.sparingEveryTensor(randomDeletions(analysis, random: &random))
}

private func randomDeletions(_ analysis: ChannelAnalysis, random: inout SeededRandom) -> PruningPlan {
    PruningPlan(
        groups: analysis.groups.map { group in
            guard group.prunable, group.size > 1, random.next() % 5 != 0 else { return PruningPlan.Group(group) }
            switch analysis.blockLayout(ofGroup: group.id) {
            case .free:
                let count = 1 + Int(random.next() % UInt64(group.size - 1))
                var indices = Array(0..<group.size)
                indices.shuffle(using: &random)
                return PruningPlan.Group(group, delete: Array(indices.prefix(count)))
            case let .blocks(blocks):
                let smallest = blocks.map(\.count).min() ?? 1
                guard smallest > 1 else { return PruningPlan.Group(group) }
                let count = 1 + Int(random.next() % UInt64(smallest - 1))
                return PruningPlan.Group(
                    group,
                    delete: blocks.flatMap { block in
                        var indices = block
                        indices.shuffle(using: &random)
                        return indices.prefix(count)
                    })
            case .coupled:
                return PruningPlan.Group(group)
            }
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
    let result = try pruningProblems(
        graph, plan: plan, surgeon: surgeon, inputs: inputs, tolerance: tolerance, message())
    for problem in result.problems { XCTFail(problem, file: file, line: line) }
    return result.pruned
}

/// What `assertPruningIsExact` would report (empty when pruning is exact), and the pruned graph.
public func pruningProblems(
    _ graph: Graph, plan: PruningPlan, surgeon: Surgeon, inputs: [Tensor], tolerance: Float = 1e-4,
    _ message: String = ""
) throws -> (pruned: Graph, problems: [String]) {
    let analysis = try surgeon.analyze(graph)
    let deleted = try surgeon.validate(plan, against: analysis)
    let pruned = try surgeon.apply(plan, to: graph, analysis: analysis)
    try pruned.checkInvariants()
    var problems: [String] = []
    let kept = surgeon.keptChannels(analysis, deleted: deleted)
    for i in pruned.nodes.indices where (pruned.shapes[i].last ?? 1) != kept[i].count {
        problems.append(
            "\(message): '\(pruned.nodes[i].name)' has \(pruned.shapes[i].last ?? 1) channels, expected "
                + "\(kept[i].count)"
        )
    }
    let expected = try maskedPredict(graph, analysis: analysis, deleted: deleted, inputs: inputs)
    let actual = try pruned.predict(inputs)
    for (k, (e, a)) in zip(expected, actual).enumerated() {
        if let problem = closenessProblem(a, e, tolerance: tolerance, "\(message) output \(k)") {
            problems.append(problem)
        }
    }
    return (pruned, problems)
}

/// Keeping every channel changes nothing: same layers, bit-identical weights and outputs.
public func assertEmptyPlanChangesNothing(
    _ graph: Graph, surgeon: Surgeon, inputs: [Tensor], _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) throws {
    for problem in try emptyPlanProblems(graph, surgeon: surgeon, inputs: inputs, message()) {
        XCTFail(problem, file: file, line: line)
    }
}

/// What `assertEmptyPlanChangesNothing` would report (empty when nothing changes).
public func emptyPlanProblems(
    _ graph: Graph, surgeon: Surgeon, inputs: [Tensor], _ message: String = ""
) throws -> [String] {
    let analysis = try surgeon.analyze(graph)
    let same = try surgeon.apply(PruningPlan(template: analysis), to: graph, analysis: analysis)
    let prefix = message.isEmpty ? "" : message + ": "
    guard same.nodes.map(\.name) == graph.nodes.map(\.name) else {
        return ["\(prefix)an empty plan changed the nodes from \(graph.nodes.map(\.name)) to \(same.nodes.map(\.name))"]
    }
    var problems: [String] = []
    for (a, b) in zip(same.nodes, graph.nodes) {
        if a.layer.config != b.layer.config {
            problems.append(
                "\(prefix)an empty plan changed the config of \(a.name) from \(b.layer.config) to \(a.layer.config)")
        }
        if a.layer.weights != b.layer.weights {
            problems.append("\(prefix)an empty plan changed the weights of \(a.name)")
        }
    }
    if try same.predict(inputs) != graph.predict(inputs) {
        problems.append("\(prefix)an empty plan changed the outputs")
    }
    return problems
}

/// Gives every BatchNorm-like weight list random but valid values, so that moving statistics
/// take part in the checks (fresh ones are 0 and 1): see `randomizedWeights`.
public func randomizeWeights(_ graph: inout Graph, seed: UInt64) throws {
    var random = SeededRandom(seed: seed)
    for i in graph.nodes.indices {
        let layer = graph.nodes[i].layer
        try graph.setWeights(randomizedWeights(layer.weights, names: layer.weightNames, random: &random), ofNode: i)
    }
}

/// `weights` (of a layer with these weight names) with random but valid values, drawn in
/// order from `random`: weights named `moving_variance`, `gamma` or `variance` (Normalization)
/// get values in [0.5, 1.5], the others in [-0.5, 0.5].
public func randomizedWeights(_ weights: [Tensor], names: [String], random: inout SeededRandom) -> [Tensor] {
    weights.enumerated().map { k, w -> Tensor in
        var t = w
        let positive = k < names.count && ["moving_variance", "gamma", "variance"].contains(names[k])
        for j in 0..<t.count {
            t.scalars[j] = positive ? random.nextFloat(in: 0.5, 1.5) : random.nextFloat(in: -0.5, 0.5)
        }
        return t
    }
}
