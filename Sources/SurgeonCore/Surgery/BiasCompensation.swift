/// Folding deleted channels' constant values into the consumers' biases.
///
/// A deleted channel is usually not zero: a BatchNorm channel whose gamma was driven to ~0
/// emits beta (after a ReLU, relu(beta)) everywhere. Deleting it drops that constant from every
/// consumer. Instead, each consumer that can (Conv2D, SeparableConv2D, Dense: `SurgeryRule.foldingConstantInputs`)
/// adds `value x weights` to its bias before the channel is cut, where `value` is the channel's
/// mean over a probe batch (real data when given). For a channel that is truly constant (gamma
/// = 0) that is exact; for a nearly constant one (small gamma) it is the best constant
/// replacement. The fold itself is exact for Dense layers and for convolutions whose windows never
/// read zero padding; with padding ('same' borders) border pixels see fewer taps, so it is
/// approximate there and only done in `.all` mode.
public enum BiasCompensation: String, Sendable, Codable, CaseIterable {
    /// Drop deleted channels as they are.
    case off
    /// Fold where the fold is exact (the default).
    case exact
    /// Also fold into convolutions with zero padding (approximate at the borders).
    case all

    /// What was folded.
    public struct Report: Sendable, Codable, Equatable {
        public struct Fold: Sendable, Codable, Equatable {
            public var layer: String
            /// Deleted input channels folded.
            public var channels: Int
            /// Of those, the ones constant on the probe (within 1e-5 of their size).
            public var constantChannels: Int
            /// True when the layer reads no zero padding, so a constant input folds exactly.
            public var exact: Bool
        }
        public var folds: [Fold] = []
        /// Deleted channels left unfolded because the consumer's fold would be approximate.
        public var skippedApproximate = 0

        public init() {}
    }

    /// A probe batch for when no data is given: four samples of per-sample `shape`, uniform in
    /// [0, 1), drawn from `seed`. Enough to tell constant channels, which are constant for any input.
    public static func randomProbe(shape: Shape, seed: UInt64) -> Tensor {
        var random = SeededRandom(seed: seed ^ 0xB1A5)
        var t = Tensor(shape: [4] + shape)
        for i in 0..<t.count { t.scalars[i] = random.nextUnitFloat() }
        return t
    }
}

extension Surgeon {
    /// `graph` with the constant channels that `plan` deletes folded into their consumers'
    /// biases; prune the result with the same plan. `probe` is a batch of inputs (real data,
    /// or random values: a constant channel is constant for any input).
    public func compensatingBiases(
        for plan: PruningPlan, in graph: Graph, analysis: ChannelAnalysis, probe: Tensor,
        mode: BiasCompensation = .exact
    ) throws -> (graph: Graph, report: BiasCompensation.Report) {
        var report = BiasCompensation.Report()
        guard mode != .off else { return (graph, report) }
        let deleted = try validate(plan, against: analysis)
        let rules = try rulesForNodes(graph)
        // Consumers: nodes that make fresh channels from one input with deleted channels.
        var wanted: [Int: [Int]] = [:]  // tensor -> its deleted channels
        var consumers: [(node: Int, input: Int)] = []
        for i in graph.nodes.indices where graph.inputIndices[i].count == 1 {
            guard (try? rules[i].channelMap(inputShapes: graph.inputShapes(ofNode: i))) == .fresh else { continue }
            let j = graph.inputIndices[i][0]
            let gone = analysis.outputChannels[j].enumerated().filter { deleted[$0.element.group][$0.element.index] }
                .map(\.offset)
            guard !gone.isEmpty else { continue }
            wanted[j] = gone
            consumers.append((i, j))
        }
        guard !consumers.isEmpty else { return (graph, report) }

        // Per wanted tensor and deleted channel: min, max, sum over the probe.
        var stats: [Int: (low: [Float], high: [Float], sum: [Double], count: Int)] = [:]
        _ = try graph.predict([probe]) { node, value in
            guard let channels = wanted[node] else { return }
            let c = value.channelCount
            var low = [Float](repeating: .infinity, count: channels.count)
            var high = [Float](repeating: -.infinity, count: channels.count),
                sum = [Double](repeating: 0, count: channels.count)
            for base in stride(from: 0, to: value.count, by: c) {
                for (k, ch) in channels.enumerated() {
                    let v = value.scalars[base + ch]
                    low[k] = min(low[k], v); high[k] = max(high[k], v); sum[k] += Double(v)
                }
            }
            stats[node] = (low, high, sum, value.count / max(c, 1))
        }

        var nodes = graph.nodes
        for (i, j) in consumers {
            guard let s = stats[j], let channels = wanted[j] else { continue }
            var constants: [Int: Float] = [:]
            var constantCount = 0
            for (k, ch) in channels.enumerated() {
                let mean = Float(s.sum[k] / Double(max(s.count, 1)))
                guard mean != 0 else { continue }
                constants[ch] = mean
                if s.high[k] - s.low[k] <= 1e-5 * max(1, abs(mean)) { constantCount += 1 }
            }
            guard !constants.isEmpty else { continue }
            let folded: (layer: any Layer, exact: Bool)?
            do {
                folded = try rules[i].foldingConstantInputs(constants, inputShapes: graph.inputShapes(ofNode: i))
            } catch {
                throw SurgeryError.ruleFailed(
                    node: graph.nodes[i].name, type: graph.nodes[i].layer.kerasClassName, reason: "\(error)")
            }
            guard let folded else { continue }
            if !folded.exact && mode == .exact {
                report.skippedApproximate += constants.count
                continue
            }
            nodes[i].layer = folded.layer
            report.folds.append(
                .init(
                    layer: graph.nodes[i].name, channels: constants.count, constantChannels: constantCount,
                    exact: folded.exact))
        }
        do { return (try Graph(nodes: nodes, outputs: graph.outputNames), report) } catch {
            throw SurgeryError.rebuild("\(error)")
        }
    }
}

extension Surgeon {
    /// Validates `plan`, folds the channels it deletes into their consumers' biases (`mode`,
    /// measured on `probe`), then applies it: the one-call form of `compensatingBiases` + `apply`.
    public func apply(
        _ plan: PruningPlan, to graph: Graph, compensating mode: BiasCompensation, probe: Tensor
    ) throws -> (graph: Graph, report: BiasCompensation.Report) {
        let (compensated, report) = try compensatingBiases(
            for: plan, in: graph, analysis: try analyze(graph), probe: probe, mode: mode)
        return (try apply(plan, to: compensated), report)
    }
}
