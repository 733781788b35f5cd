import SurgeonCore

/// Keeps per-member, per-channel running sums and turns them into `MemberScores`.
struct ChannelAccumulator {
    var sums: [Int: [Double]] = [:]

    mutating func add(node: Int, channel: Int, _ value: Double, channels: Int) {
        if sums[node] == nil { sums[node] = [Double](repeating: 0, count: channels) }
        sums[node]![channel] += value
    }

    func scores(_ context: ScoringContext, transform: (Double) -> Float) -> [[MemberScores]] {
        var result = [[MemberScores]](repeating: [], count: context.analysis.groups.count)
        for (node, values) in sums.sorted(by: { $0.key < $1.key }) {
            for (g, scores) in memberScores(
                context, node: node, values: values.map(transform),
                channels: context.analysis.outputChannels[node])
            {
                result[g].append(scores)
            }
        }
        return result
    }
}

/// `apoz`: 1 - the average percentage of zeros of each channel after the group's ReLU, on
/// validation data (Hu et al., "Network Trimming", 2016). Streamed batch by batch: only one
/// batch's activations are alive at a time.
public struct APoZCriterion: ImportanceCriterion {
    public init() {}
    public var name: String { "apoz" }
    public var summary: String { "1 - average percentage of zeros after the group's ReLU, on --data (streamed)" }
    public var needsData: Bool { true }
    /// A share of active positions means the same in every layer.
    public var scoresAreComparableAcrossGroups: Bool { true }

    public func scores(_ context: ScoringContext) throws -> [[MemberScores]] {
        guard let data = context.data else { throw StrategyError.needsData(criterion: name) }
        let graph = context.graph
        try Evaluation.checkSamples(graph, data)
        let watched = Set(graph.nodes.indices.filter { graph.nodes[$0].layer.rectifiesOutput })
        var zeros = ChannelAccumulator()
        var batches = 0
        for start in stride(from: 0, to: data.count, by: context.batchSize) {
            let batch = data.images.slice(rows: start..<min(start + context.batchSize, data.count))
            var counted = false
            _ = try graph.predict([batch]) { node, value in
                guard watched.contains(node) else { return }
                let c = value.channelCount
                var counts = [Int](repeating: 0, count: c)
                value.scalars.withUnsafeBufferPointer { p in
                    var base = 0
                    while base < p.count {
                        for j in 0..<c where p[base + j] == 0 { counts[j] += 1 }
                        base += c
                    }
                }
                for j in 0..<c {
                    zeros.add(node: node, channel: j, Double(counts[j]) / Double(value.count / c), channels: c)
                }
                counted = true
            }
            if counted { batches += 1 }
        }
        return zeros.scores(context) { 1 - Float($0 / Double(max(batches, 1))) }
    }
}

/// `taylor`: first-order Taylor importance |sum over positions of activation x gradient| of
/// each producer's output channel, averaged over samples of a few training batches (Molchanov
/// et al., "Pruning Convolutional Neural Networks for Resource Efficient Inference", ICLR 2017).
///
/// Only the first graph output's loss counts; the others get a zero gradient.
public struct TaylorCriterion: ImportanceCriterion {
    /// Training batches (of `ScoringContext.batchSize` samples) the scores average over.
    public let batches: Int

    public init(batches: Int = 4) { self.batches = batches }
    public var name: String { "taylor" }
    public var spec: String { "taylor:batches=\(batches)" }
    public var summary: String {
        "first-order Taylor |activation x gradient| of each producer, over a few batches of --data"
    }
    public var needsData: Bool { true }

    /// The registry entry: `taylor` with `batches` (default 4).
    public static let entry = CriterionEntry(
        name: "taylor", summary: TaylorCriterion().summary,
        parameters: [
            StrategyParameter(
                "batches", .integer(1...100_000), default: .integer(4), summary: "batches of --data to average over")
        ],
        needsData: true
    ) { arguments throws(StrategySpecError) in TaylorCriterion(batches: try arguments.integer("batches")) }

    public func scores(_ context: ScoringContext) throws -> [[MemberScores]] {
        guard let data = context.data else { throw StrategyError.needsData(criterion: name) }
        let graph = context.graph
        // A label outside the first output's logits would be read out of bounds.
        try Evaluation.checkSamples(graph, data)
        try Evaluation.checkLabels(firstOutputOf: graph, data)
        let producers = Set(
            graph.nodes.indices.filter { i in
                !graph.inputIndices[i].isEmpty
                    && ((try? (graph.nodes[i].layer as? any SurgeryRule)?.channelMap(
                        inputShapes: graph.inputShapes(ofNode: i))) ?? nil) == .fresh
            })
        let loss = SoftmaxCrossEntropy(fromLogits: !graph.producesProbabilities)
        var totals = ChannelAccumulator()
        var samples = 0
        for b in 0..<batches {
            let start = b * context.batchSize
            guard start < data.count else { break }
            let batch = data.slice(start..<min(start + context.batchSize, data.count))
            let tape = try graph.forwardTraining(
                [batch.images], context: ForwardContext(training: true, seed: context.seed &+ UInt64(b)))
            let r = loss.evaluate(output: tape.outputs[graph.outputNodeIndices[0]].value, labels: batch.labels)
            let others = graph.outputNodeIndices.dropFirst().map { Tensor(shape: tape.outputs[$0].value.shape) }
            _ = try graph.backward(tape, outputGradients: [r.gradient] + others) { node, gradient in
                guard producers.contains(node) else { return }
                let a = tape.outputs[node].value
                let n = a.shape[0], c = a.channelCount, perSample = a.count / max(n, 1)
                for s in 0..<n {
                    var dot = [Double](repeating: 0, count: c)
                    for base in stride(from: s * perSample, to: (s + 1) * perSample, by: c) {
                        for j in 0..<c { dot[j] += Double(a.scalars[base + j] * gradient.scalars[base + j]) }
                    }
                    for j in 0..<c { totals.add(node: node, channel: j, abs(dot[j]), channels: c) }
                }
            }
            samples += batch.count
        }
        return totals.scores(context) { Float($0 / Double(max(samples, 1))) }
    }
}
