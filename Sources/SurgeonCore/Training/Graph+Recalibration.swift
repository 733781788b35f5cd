/// BatchNorm statistics re-estimated after surgery. A pruned model's BatchNorms still hold the
/// moving means and variances of the unpruned one, whose activations were different (deleted
/// channels no longer feed the next layers): right after a large cut that alone can bring a
/// network to chance. Averaging batch statistics over a few training batches (images only, no
/// labels) gives them back, as EagleEye's adaptive BatchNorm does.
extension Graph {
    /// What `recalibratingStatistics` did.
    public struct Recalibration: Sendable, Equatable, Codable {
        /// The layers whose statistics were re-estimated (BatchNorms), by name.
        public var layers: [String] = []
        /// Batches and images read.
        public var batches = 0
        public var images = 0

        /// The defaults of `surgeon prune --data` and of a recipe's prune stage: 20 batches of
        /// 64 images (1,280).
        public static let defaultBatches = 20
        public static let batchSize = 64

        public init(layers: [String] = [], batches: Int = 0, images: Int = 0) {
            self.layers = layers
            self.batches = batches
            self.images = images
        }
    }

    /// The graph with the state of every layer that has `batchStatistics` replaced by their
    /// average over `batches` training-mode forward passes of `batchSize` images drawn from
    /// `images` (a seeded sample without repeats; fewer batches when `images` holds fewer).
    public func recalibratingStatistics(
        images: Tensor, batchSize: Int, batches: Int, seed: UInt64
    ) throws -> (graph: Graph, report: Recalibration) {
        var report = Recalibration()
        let count = images.shape.first ?? 0
        let size = max(1, min(batchSize, count))
        let wanted = min(batches, count / size)
        guard wanted > 0 else { return (self, report) }
        var order = Array(0..<count)
        var random = SeededRandom(seed: seed ^ 0x5EC_A11B)
        order.shuffle(using: &random)
        var sums: [Int: [[Double]]] = [:]
        for b in 0..<wanted {
            let batch = images.selecting(Array(order[(b * size)..<((b + 1) * size)]), alongAxis: 0)
            let tape = try forwardTraining([batch], context: ForwardContext(training: true, seed: seed &+ UInt64(b)))
            for i in nodes.indices {
                let args = inputIndices[i].map { tape.outputs[$0].value }
                guard !args.isEmpty,
                    let statistics = try Graph.wrap(nodes[i], { try nodes[i].layer.batchStatistics(args) })
                else { continue }
                var total = sums[i] ?? statistics.map { [Double](repeating: 0, count: $0.count) }
                for (k, s) in statistics.enumerated() where k < total.count && total[k].count == s.count {
                    for j in 0..<s.count { total[k][j] += Double(s.scalars[j]) }
                }
                sums[i] = total
            }
            report.batches += 1
            report.images += size
        }
        var graph = self
        for (i, total) in sums.sorted(by: { $0.key < $1.key }) {
            let state = try total.map { t in
                try Tensor(shape: [t.count], scalars: t.map { Float($0 / Double(report.batches)) })
            }
            let k = graph.nodes[i].layer.trainableWeightCount
            guard graph.nodes[i].layer.weights.count == k + state.count,
                zip(graph.nodes[i].layer.weights[k...], state).allSatisfy({ $0.shape == $1.shape })
            else { continue }
            graph.setState(state, ofNode: i)
            report.layers.append(nodes[i].name)
        }
        return (graph, report)
    }
}
