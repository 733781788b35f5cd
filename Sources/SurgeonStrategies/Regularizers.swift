import SurgeonCore

/// Adds the subgradient of `lambda * sum |w|` to `gradient`; returns the penalty.
func addL1(_ w: Tensor, lambda: Float, into gradient: inout Tensor) -> Double {
    var sum = 0.0
    for j in 0..<w.count {
        let v = w.scalars[j]
        sum += Double(abs(v))
        gradient.scalars[j] += v > 0 ? lambda : (v < 0 ? -lambda : 0)
    }
    return Double(lambda) * sum
}

/// `l1-gamma`: lambda * sum |gamma| over every BatchNorm-like scale, subgradient
/// lambda * sign(gamma) — Network Slimming (Liu et al., ICCV 2017; the paper used 1e-4 for VGG,
/// 1e-5 for ResNet and DenseNet). Reports the share of |gamma| below 1e-2.
public struct L1GammaRegularizer: Regularizer {
    public let lambda: Float
    public init(lambda: Float) { self.lambda = lambda }
    public var name: String { "l1-gamma" }

    /// Nodes with a trainable `gamma` and its weight index.
    static func gammas(_ graph: Graph) -> [(node: Int, weight: Int)] {
        graph.nodes.indices.compactMap { i in
            let layer = graph.nodes[i].layer
            guard let k = layer.channelScaleIndex, k < layer.trainableWeightCount else { return nil }
            return (i, k)
        }
    }

    public func apply(to graph: Graph, gradients: inout [[Tensor]]) -> Double {
        var penalty = 0.0
        for (i, k) in Self.gammas(graph) where k < gradients[i].count {
            penalty += addL1(graph.nodes[i].layer.weights[k], lambda: lambda, into: &gradients[i][k])
        }
        return penalty
    }

    public func report(for graph: Graph) -> [String: Double] {
        let values = Self.gammas(graph).flatMap { graph.nodes[$0.node].layer.weights[$0.weight].scalars }
        return [
            "below_1e-2": values.isEmpty ? 0 : Double(values.filter { abs($0) < 1e-2 }.count) / Double(values.count)
        ]
    }
}

/// `l1-filters`: lambda * sum |w| over every producer's kernel (the weights with an output
/// channel axis and rank >= 2: conv kernels, dense matrices). Reports the share of filters whose
/// largest |w| is below 1e-2.
public struct L1FiltersRegularizer: Regularizer {
    public let lambda: Float
    let kernels: [(node: Int, weight: Int, axis: Int)]

    public init(lambda: Float, graph: Graph, surgeon: Surgeon) throws {
        self.lambda = lambda
        let slices = ChannelSlices(graph: graph, analysis: try surgeon.analyze(graph), surgeon: surgeon)
        kernels = slices.slices.filter { $0.isOutput && graph.nodes[$0.node].layer.weights[$0.weight].rank >= 2 }
            .map { ($0.node, $0.weight, $0.axis) }
    }

    public var name: String { "l1-filters" }

    public func apply(to graph: Graph, gradients: inout [[Tensor]]) -> Double {
        var penalty = 0.0
        for (i, k, _) in kernels where k < gradients[i].count {
            penalty += addL1(graph.nodes[i].layer.weights[k], lambda: lambda, into: &gradients[i][k])
        }
        return penalty
    }

    public func report(for graph: Graph) -> [String: Double] {
        var small = 0, total = 0
        for (i, k, axis) in kernels {
            let w = graph.nodes[i].layer.weights[k]
            var peak = [Float](repeating: 0, count: w.shape[axis])
            ChannelSlices.forEachElement(shape: w.shape, axis: axis) { c, e in peak[c] = max(peak[c], abs(w.scalars[e]))
            }
            small += peak.filter { $0 < 1e-2 }.count
            total += peak.count
        }
        return ["filters_below_1e-2": total == 0 ? 0 : Double(small) / Double(total)]
    }
}

/// `group-lasso`: lambda * sum over the channels of every prunable group of the L2 norm of all
/// that channel's weights, across every member (producers' filters, BatchNorm entries,
/// depthwise filters, consumers' input slices), so that whole coupled channels go to zero
/// together (Wen et al., "Learning Structured Sparsity in Deep Neural Networks", NIPS 2016).
/// Reports the share of group channels whose norm is below 1e-2.
public struct GroupLassoRegularizer: Regularizer {
    public let lambda: Float
    let slices: [ChannelSlices.Slice]
    let groupSizes: [Int]
    let prunable: [Bool]
    /// The channels penalised, per group; nil for all of every prunable group.
    var selected: [[Bool]]?
    var label = "group-lasso"

    public init(lambda: Float, graph: Graph, surgeon: Surgeon) throws {
        self.lambda = lambda
        let analysis = try surgeon.analyze(graph)
        slices = ChannelSlices(graph: graph, analysis: analysis, surgeon: surgeon).slices.filter {
            $0.weight < graph.nodes[$0.node].layer.trainableWeightCount
        }
        groupSizes = analysis.groups.map(\.size)
        prunable = analysis.groups.map(\.prunable)
    }

    public var name: String { label }

    /// The same penalty on the `delete` channels of `plan` only, at strength `lambda`.
    func restricted(to plan: PruningPlan, lambda: Float) -> GroupLassoRegularizer {
        var r = GroupLassoRegularizer(lambda: lambda, slices: slices, groupSizes: groupSizes, prunable: prunable)
        r.label = "growing-lasso"
        r.selected = groupSizes.enumerated().map { g, size in
            var chosen = [Bool](repeating: false, count: size)
            if g < plan.groups.count { for i in plan.groups[g].delete where i >= 0 && i < size { chosen[i] = true } }
            return chosen
        }
        return r
    }

    private init(lambda: Float, slices: [ChannelSlices.Slice], groupSizes: [Int], prunable: [Bool]) {
        self.lambda = lambda
        self.slices = slices
        self.groupSizes = groupSizes
        self.prunable = prunable
    }

    func penalised(_ group: Int, _ index: Int) -> Bool {
        prunable[group] && (selected.map { $0[group][index] } ?? true)
    }

    func squaredNorms(_ graph: Graph) -> [[Double]] {
        var norms = groupSizes.map { [Double](repeating: 0, count: $0) }
        for s in slices {
            let w = graph.nodes[s.node].layer.weights[s.weight]
            s.forEachElement(shape: w.shape) { c, e in
                let ch = s.channels[c]
                if penalised(ch.group, ch.index) { norms[ch.group][ch.index] += Double(w.scalars[e] * w.scalars[e]) }
            }
        }
        return norms
    }

    public func apply(to graph: Graph, gradients: inout [[Tensor]]) -> Double {
        let norms = squaredNorms(graph).map { $0.map { $0.squareRoot() } }
        for s in slices where s.weight < gradients[s.node].count {
            let w = graph.nodes[s.node].layer.weights[s.weight]
            s.forEachElement(shape: w.shape) { c, e in
                let ch = s.channels[c]
                let n = norms[ch.group][ch.index]
                if n > 1e-12 {
                    gradients[s.node][s.weight].scalars[e] += lambda * w.scalars[e] / Float(n)
                }
            }
        }
        return Double(lambda) * norms.reduce(0) { $0 + $1.reduce(0, +) }
    }

    public func report(for graph: Graph) -> [String: Double] {
        let norms = squaredNorms(graph).enumerated().flatMap { g, values in
            values.indices.filter { penalised(g, $0) }.map { values[$0] }
        }
        return [
            "channels_below_1e-2": norms.isEmpty
                ? 0 : Double(norms.filter { $0.squareRoot() < 1e-2 }.count) / Double(norms.count)
        ]
    }
}

/// `growing-lasso`: group lasso on the channels the prune stage that follows would delete,
/// re-planned on the current weights at the start of every epoch, its strength growing linearly
/// from `lambda / epochs` to `lambda` over the stage — growing regularisation (Wang et al.,
/// "Neural Pruning via Growing Regularization", ICLR 2021) over coupled groups. The channels the
/// cut removes end near zero in every member of their group (filters, BatchNorm scale and
/// shift, consumers' slices), so the cut itself costs little; the channels kept are not
/// penalised. Reports the share of the targeted channels whose norm is below 1e-2.
public struct GrowingLassoRegularizer: Regularizer {
    public let lambda: Float
    /// The cut aimed at: the prune stage's criterion, policy and budget.
    public let planner: Planner
    /// The data a data-driven criterion scores on.
    public let data: LabeledData?
    let lasso: GroupLassoRegularizer

    public init(lambda: Float, graph: Graph, planner: Planner, data: LabeledData? = nil) throws {
        self.lambda = lambda
        self.planner = planner
        self.data = data
        lasso = try GroupLassoRegularizer(lambda: lambda, graph: graph, surgeon: planner.surgeon)
    }

    public var name: String { "growing-lasso" }

    /// Before any epoch has planned a cut: no channel is penalised.
    public func apply(to graph: Graph, gradients: inout [[Tensor]]) -> Double { 0 }

    public func forEpoch(_ epoch: Int, of epochs: Int, graph: Graph) throws -> any Regularizer {
        let plan = try planner.plan(graph, data: data, seed: UInt64(epoch)).plan
        return lasso.restricted(to: plan, lambda: lambda * Float(epoch + 1) / Float(max(epochs, 1)))
    }
}
