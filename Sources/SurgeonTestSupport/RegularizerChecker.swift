import SurgeonCore
import SurgeonStrategies

/// The generic check every regulariser passes: on each model (by default seeded random
/// graphs), with random weights, the gradient `apply` adds equals a central finite difference
/// of the penalty it returns, `(P(w + e) - P(w - e)) / 2e`, element by element — on every
/// trainable weight it touches (up to `samplesPerTensor` elements with a non-zero gradient per
/// tensor) and on a sample of those it does not (where the difference must be zero too). The
/// penalty must be finite. Elements within `2 * epsilon` of zero are skipped (the kink of
/// an L1 penalty).
///
/// `make` builds the regulariser for a model (regularisers find their weights in it). A pair
/// passes when `|analytic - numeric| <= absoluteTolerance + relativeTolerance * max(|analytic|,
/// |numeric|)`. Returns the problems found, each naming the model, the layer, the weight and
/// the index; with `reportFailures` (the default) each also fails the calling test at
/// `file`/`line` (at most `maxReports` of them).
@discardableResult
public func checkRegularizer(
    _ name: String, models: [StrategyCheckModel]? = nil, epsilon: Float = 1e-3,
    relativeTolerance: Double = 1e-2, absoluteTolerance: Double = 1e-6, samplesPerTensor: Int = 2,
    seed: UInt64 = 0x5EED,
    maxReports: Int = 10, reportFailures: Bool = true, file: StaticString = #filePath, line: UInt = #line,
    make: (Graph) throws -> any Regularizer
) throws -> StrategyCheckReport {
    var report = StrategyCheckReport()
    var touched = 0
    for model in try models ?? StrategyCheckModel.randomGraphs() {
        var graph = model.graph
        try randomizeWeights(&graph, seed: seed)
        let regularizer = try make(graph)
        let label = "\(name) on \(model.label)"
        func zeros() -> [[Tensor]] {
            graph.nodes.map { $0.layer.weights.prefix($0.layer.trainableWeightCount).map { Tensor(shape: $0.shape) } }
        }
        var analytic = zeros()
        let penalty = regularizer.apply(to: graph, gradients: &analytic)
        if !penalty.isFinite { report.fail("\(label): penalty \(penalty)", reportFailures, file, line) }
        var random = SeededRandom(seed: seed &+ 1)
        for i in graph.nodes.indices {
            let layer = graph.nodes[i].layer
            for k in 0..<min(layer.trainableWeightCount, analytic[i].count) {
                let w = layer.weights[k], g = analytic[i][k]
                let usable = (0..<w.count).filter { abs(w.scalars[$0]) > 2 * epsilon }
                let nonZero = usable.filter { g.scalars[$0] != 0 }, zero = usable.filter { g.scalars[$0] == 0 }
                touched += nonZero.count
                for e in sample(nonZero, samplesPerTensor, &random) + sample(zero, samplesPerTensor, &random) {
                    var plus = graph, minus = graph
                    var weights = layer.weights
                    let up = w.scalars[e] + epsilon, down = w.scalars[e] - epsilon
                    weights[k].scalars[e] = up
                    try plus.setWeights(weights, ofNode: i)
                    weights[k].scalars[e] = down
                    try minus.setWeights(weights, ofNode: i)
                    var scratch = zeros()
                    let high = regularizer.apply(to: plus, gradients: &scratch)
                    scratch = zeros()
                    let numeric =
                        (high - regularizer.apply(to: minus, gradients: &scratch)) / (Double(up) - Double(down))
                    let a = Double(g.scalars[e]), diff = abs(a - numeric)
                    report.checked += 1
                    if !(diff <= absoluteTolerance + relativeTolerance * max(abs(a), abs(numeric))) {
                        let names = layer.weightNames
                        let weight = k < names.count ? names[k] : "#\(k)"
                        report.fail(
                            "\(label): \(graph.nodes[i].name) weight '\(weight)' [\(e)]: gradient \(a), finite "
                                + "difference \(numeric)",
                            reportFailures && report.problems.count < maxReports, file, line)
                    }
                }
            }
        }
    }
    if touched == 0 {
        report.fail("\(name): the gradient is zero on every weight of every model", reportFailures, file, line)
    }
    return report
}

/// Up to `count` of `items`, drawn with `random`, in increasing order.
private func sample(_ items: [Int], _ count: Int, _ random: inout SeededRandom) -> [Int] {
    guard items.count > count else { return items }
    var pool = items
    for j in 0..<count { pool.swapAt(j, j + Int(random.next() % UInt64(pool.count - j))) }
    return pool.prefix(count).sorted()
}
