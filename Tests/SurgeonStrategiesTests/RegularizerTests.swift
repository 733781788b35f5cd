import Layers
import SurgeonCore
import SurgeonStrategies
import SurgeonTestSupport
import XCTest

final class RegularizerTests: XCTestCase {
    /// input -> conv (3) -> bn -> relu -> conv (2, consumer) -> gap -> dense
    private func graph() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [3, 3, 2]), name: "input")
        let c = b.add(Conv2D(filters: 3, kernelSize: [1, 1]), name: "conv", inputs: [x])
        let n = b.add(BatchNormalization(), name: "bn", inputs: [c])
        let r = b.add(ReLU(), name: "relu", inputs: [n])
        let c2 = b.add(Conv2D(filters: 2, kernelSize: [1, 1], useBias: false), name: "conv2", inputs: [r])
        let g = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [c2])
        let d = b.add(Dense(units: 2), name: "dense", inputs: [g])
        var graph = try b.build(outputs: [d], seed: 3)
        try randomizeWeights(&graph, seed: 4)
        let bn = graph.index(of: "bn")!
        var w = graph.nodes[bn].layer.weights
        w[0] = Tensor.literal([3], [0.5, -0.005, 0])
        try graph.setWeights(w, ofNode: bn)
        return graph
    }

    private func zeroGradients(_ g: Graph) -> [[Tensor]] {
        g.nodes.map { $0.layer.weights.prefix($0.layer.trainableWeightCount).map { Tensor(shape: $0.shape) } }
    }

    func testL1Gamma_penaltyAndSubgradient() throws {
        let g = try graph()
        var grads = zeroGradients(g)
        let r = L1GammaRegularizer(lambda: 0.1)
        XCTAssertEqual(r.apply(to: g, gradients: &grads), 0.1 * 0.505, accuracy: 1e-7)
        XCTAssertEqual(grads[g.index(of: "bn")!][0].scalars, [0.1, -0.1, 0])
        XCTAssertEqual(grads[g.index(of: "conv")!][0], Tensor(shape: [1, 1, 2, 3]))
        XCTAssertEqual(r.report(for: g)["below_1e-2"] ?? -1, 2.0 / 3, accuracy: 1e-9)
    }

    func testL1Filters_penalisesKernelsOnly() throws {
        let g = try graph()
        var grads = zeroGradients(g)
        let r = try L1FiltersRegularizer(lambda: 0.01, graph: g, surgeon: .standard)
        let kernels = ["conv", "conv2", "dense"].map { g.nodes[g.index(of: $0)!].layer.weights[0] }
        let expected = 0.01 * kernels.reduce(0.0) { $0 + $1.scalars.reduce(0.0) { $0 + Double(abs($1)) } }
        XCTAssertEqual(r.apply(to: g, gradients: &grads), expected, accuracy: 1e-6)
        let conv = g.index(of: "conv")!
        XCTAssertEqual(grads[conv][0].scalars, kernels[0].scalars.map { $0 > 0 ? 0.01 : -0.01 })
        XCTAssertEqual(grads[conv][1], Tensor(shape: [3]), "biases are not filters")
        XCTAssertEqual(grads[g.index(of: "bn")!][0], Tensor(shape: [3]))
    }

    func testGroupLasso_gradientMatchesFiniteDifferencesAndCoversConsumers() throws {
        let g = try graph()
        let r = try GroupLassoRegularizer(lambda: 0.5, graph: g, surgeon: .standard)
        var grads = zeroGradients(g)
        let penalty = r.apply(to: g, gradients: &grads)
        // Channel 0 of the conv group: conv filter 0 + its bias, bn gamma/beta [0], conv2's input row 0.
        let w = { (name: String, k: Int) in g.nodes[g.index(of: name)!].layer.weights[k] }
        var sq0 =
            Double(w("conv", 1).scalars[0] * w("conv", 1).scalars[0]) + Double(0.25)
            + Double(w("bn", 1).scalars[0] * w("bn", 1).scalars[0])
        for i in 0..<2 { sq0 += Double(w("conv", 0).scalars[i * 3] * w("conv", 0).scalars[i * 3]) }
        for f in 0..<2 { sq0 += Double(w("conv2", 0).scalars[f] * w("conv2", 0).scalars[f]) }
        // conv2's kernel element (in 0, out 1) is also in conv2's own group, channel 1: its column
        // and the dense layer's input row 1.
        var sq1 = 0.0
        for c in 0..<3 { sq1 += Double(w("conv2", 0).scalars[c * 2 + 1] * w("conv2", 0).scalars[c * 2 + 1]) }
        for f in 0..<2 { sq1 += Double(w("dense", 0).scalars[2 + f] * w("dense", 0).scalars[2 + f]) }
        let c2 = g.index(of: "conv2")!
        let element = Double(w("conv2", 0).scalars[1])
        XCTAssertEqual(
            Double(grads[c2][0].scalars[1]), 0.5 * element / sq0.squareRoot() + 0.5 * element / sq1.squareRoot(),
            accuracy: 1e-6)
        // Finite differences of the penalty along a few weights.
        for (name, k, index) in [("conv", 0, 4), ("bn", 1, 2), ("conv2", 0, 3), ("conv", 1, 1)] {
            let i = g.index(of: name)!
            var plus = g, minus = g
            var ws = g.nodes[i].layer.weights
            ws[k].scalars[index] += 1e-3
            try plus.setWeights(ws, ofNode: i)
            ws[k].scalars[index] -= 2e-3
            try minus.setWeights(ws, ofNode: i)
            var scratch = zeroGradients(g)
            let numeric = (r.apply(to: plus, gradients: &scratch) - r.apply(to: minus, gradients: &scratch)) / 2e-3
            XCTAssertEqual(Double(grads[i][k].scalars[index]), numeric, accuracy: 2e-3, "\(name)[\(k)][\(index)]")
        }
        XCTAssertGreaterThan(penalty, 0)
        XCTAssertEqual(grads[g.index(of: "dense")!][1], Tensor(shape: [2]), "logit channels are pinned, not penalised")
    }

    /// growing-lasso penalises only the channels its planned cut deletes, with a strength that
    /// grows to lambda over the epochs, and training with it empties those channels in every
    /// member of their group.
    func testGrowingLasso_targetsThePlannedCutAndEmptiesIt() throws {
        let g = try graph()
        let planner = Planner(
            criterion: BNGammaCriterion(), policy: ReductionPolicy(.mean), budget: Budget(.ratio(0.34, global: false)),
            surgeon: .standard)
        let growing = try GrowingLassoRegularizer(lambda: 0.4, graph: g, planner: planner)
        let strong = try GrowingLassoRegularizer(lambda: 2, graph: g, planner: planner)
        var grads = zeroGradients(g)
        XCTAssertEqual(growing.apply(to: g, gradients: &grads), 0, "nothing is planned before the first epoch")
        let first = try XCTUnwrap(try growing.forEpoch(0, of: 4, graph: g) as? GroupLassoRegularizer)
        let last = try XCTUnwrap(try growing.forEpoch(3, of: 4, graph: g) as? GroupLassoRegularizer)
        XCTAssertEqual(first.lambda, 0.1, accuracy: 1e-7)
        XCTAssertEqual(last.lambda, 0.4, accuracy: 1e-7)
        XCTAssertEqual(first.name, "growing-lasso")
        let plan = try planner.plan(g).plan
        let conv = g.index(of: "conv")!, bn = g.index(of: "bn")!
        let group = try XCTUnwrap(plan.groups.first { $0.members.contains { $0.layer == "bn" } })
        XCTAssertEqual(group.delete, [2], "the smallest |gamma| of the conv group")
        grads = zeroGradients(g)
        XCTAssertGreaterThan(last.apply(to: g, gradients: &grads), 0)
        XCTAssertEqual(grads[bn][0].scalars[0], 0, "a kept channel is not penalised")
        XCTAssertEqual(grads[bn][1].scalars[0], 0)
        XCTAssertNotEqual(grads[bn][1].scalars[2], 0, "the planned channel's beta is")
        XCTAssertNotEqual(grads[conv][0].scalars[2], 0, "and its filter")

        var data = try LabeledData(
            images: Tensor.random(shape: [64, 3, 3, 2], seed: 1), labels: (0..<64).map { $0 % 2 })
        data.images = data.images.map { $0 * 2 }
        let config = TrainingConfiguration(epochs: 8, batchSize: 16)
        let trained = try Trainer(configuration: config, regularizers: [strong]).fit(g, train: data)
        let after = trained.last
        let norm = { (node: Int, k: Int, channel: Int, axis: Int) -> Double in
            let w = after.nodes[node].layer.weights[k]
            var sum = 0.0
            ChannelSlices.forEachElement(shape: w.shape, axis: axis) { c, e in
                if c == channel { sum += Double(w.scalars[e] * w.scalars[e]) }
            }
            return sum.squareRoot()
        }
        let conv2 = after.index(of: "conv2")!
        for (node, k, axis) in [(conv, 0, 3), (conv, 1, 0), (bn, 0, 0), (bn, 1, 0), (conv2, 0, 2)] {
            XCTAssertLessThan(norm(node, k, 2, axis), 0.05, "member \(node) weight \(k) of the cut channel")
        }
        XCTAssertGreaterThan(norm(bn, 0, 0, 0), 0.1, "the kept channel keeps its scale")
        XCTAssertNotNil(trained.history.last?.regularizerReport["growing-lasso.channels_below_1e-2"])
    }

    /// Outside a recipe, growing-lasso has no cut to aim at: a clear error.
    func testGrowingLassoWithoutACut_isRefused() throws {
        XCTAssertThrowsError(
            try StrategyRegistry.standard.regularizer("growing-lasso", lambda: 0.1, graph: graph(), surgeon: .standard)
        ) { XCTAssertTrue("\($0)".contains("followed by a prune stage"), "\($0)") }
    }

    func testSparseTraining_drivesGammasDown() throws {
        var data = try LabeledData(
            images: Tensor.random(shape: [64, 3, 3, 2], seed: 1), labels: (0..<64).map { $0 % 2 })
        data.images = data.images.map { $0 * 2 }
        let config = TrainingConfiguration(epochs: 8, batchSize: 16)
        let plain = try Trainer(configuration: config).fit(graph(), train: data)
        let sparse = try Trainer(configuration: config, regularizers: [L1GammaRegularizer(lambda: 0.05)])
            .fit(graph(), train: data)
        let gammas = { (g: Graph) in g.nodes[g.index(of: "bn")!].layer.weights[0].scalars.map { abs($0) }.reduce(0, +) }
        XCTAssertLessThan(gammas(sparse.last), gammas(plain.last) * 0.5)
        XCTAssertGreaterThan(sparse.history.last!.regularizerReport["l1-gamma.below_1e-2"] ?? 0, 0)
    }
}
