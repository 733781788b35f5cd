import SurgeonCore
import SurgeonCoreTestSupport
import XCTest

/// An affine channel with gamma = 0 emits relu(beta) everywhere; folding that constant into the
/// consumers makes pruning it exact with respect to the *unmasked* original. The core decides
/// which consumers to ask and what to fold; each consumer's rule says whether its fold is exact.
final class BiasCompensationTests: XCTestCase {
    private let surgeon = TestLayers.surgeon

    /// input -> conv (4) -> bn (gamma[1] = 0, beta[1] = 0.7) -> relu -+-> pointwise -> pg -> out1
    ///                                                                +-> gap -> dense (2)
    ///                                                                +-> approximate -> sg -> out3
    /// `approximate` declares its fold approximate, as a zero-padded convolution does.
    private func model() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(Source(shape: [5, 5, 2]), name: "input")
        let c = b.add(Projection(units: 4), name: "conv", inputs: [x])
        let n = b.add(ChannelAffine(), name: "bn", inputs: [c])
        let r = b.add(Rectifier(), name: "relu", inputs: [n])
        let p = b.add(Projection(units: 3, useBias: false), name: "pointwise", inputs: [r])
        let pg = b.add(ChannelMean(), name: "pg", inputs: [p])
        let o1 = b.add(Projection(units: 2), name: "out1", inputs: [pg])
        let g = b.add(ChannelMean(), name: "gap", inputs: [r])
        let d = b.add(Projection(units: 2), name: "dense", inputs: [g])
        let s = b.add(Projection(units: 3, approximateFold: true), name: "approximate", inputs: [r])
        let sg = b.add(ChannelMean(), name: "sg", inputs: [s])
        let o3 = b.add(Projection(units: 2), name: "out3", inputs: [sg])
        var graph = try b.build(outputs: [o1, d, o3], seed: 5)
        try randomizeWeights(&graph, seed: 6)
        try setChannelOne(of: &graph, gamma: 0, beta: 0.7)
        return graph
    }

    private func setChannelOne(of graph: inout Graph, gamma: Float, beta: Float? = nil) throws {
        let bn = try index(of: "bn", in: graph)
        var w = graph.nodes[bn].layer.weights
        w[0].scalars[1] = gamma
        if let beta { w[1].scalars[1] = beta }
        try graph.setWeights(w, ofNode: bn)
    }

    private func deleteChannelOne(_ graph: Graph) throws -> (PruningPlan, ChannelAnalysis) {
        let analysis = try surgeon.analyze(graph)
        var plan = PruningPlan(template: analysis)
        let channel = analysis.outputChannels[try index(of: "conv", in: graph)][1]
        plan.groups[channel.group].delete = [channel.index]
        return (plan, analysis)
    }

    private let probe = Tensor.random(shape: [3, 5, 5, 2], seed: 1)

    func testExactMode_foldsWhereTheConsumerSaysItIsExact() throws {
        let graph = try model()
        let (plan, analysis) = try deleteChannelOne(graph)
        let (folded, report) = try surgeon.compensatingBiases(
            for: plan, in: graph, analysis: analysis, probe: probe, mode: .exact)
        XCTAssertEqual(report.folds.map(\.layer), ["pointwise", "dense"])
        XCTAssertEqual(report.folds.map(\.constantChannels), [1, 1])
        XCTAssertEqual(report.folds.map(\.exact), [true, true])
        XCTAssertEqual(report.skippedApproximate, 1)
        let pruned = try surgeon.apply(plan, to: folded)
        let original = try graph.predict([probe]), after = try pruned.predict([probe])
        assertClose(after[0], original[0], tolerance: 1e-5, "pointwise consumer")
        assertClose(after[1], original[1], tolerance: 1e-5, "dense consumer")
        let uncompensated = try surgeon.apply(plan, to: graph).predict([probe])
        XCTAssertGreaterThan(
            uncompensated[1].maxAbsDifference(original[1]), 1e-3, "without folding the constant is lost")
    }

    func testAllMode_alsoFoldsWhereTheFoldIsApproximate() throws {
        let graph = try model()
        let (plan, analysis) = try deleteChannelOne(graph)
        let (folded, report) = try surgeon.compensatingBiases(
            for: plan, in: graph, analysis: analysis, probe: probe, mode: .all)
        XCTAssertEqual(report.folds.map(\.layer), ["pointwise", "dense", "approximate"])
        XCTAssertEqual(report.folds.first { $0.layer == "approximate" }?.exact, false)
        XCTAssertEqual(report.skippedApproximate, 0)
        let original = try graph.predict([probe])[2]
        let with = try surgeon.apply(plan, to: folded).predict([probe])[2]
        let without = try surgeon.apply(plan, to: graph).predict([probe])[2]
        XCTAssertLessThan(with.maxAbsDifference(original), without.maxAbsDifference(original))
    }

    func testOffMode_foldsNothingAndKeepsTheGraph() throws {
        let graph = try model()
        let (plan, analysis) = try deleteChannelOne(graph)
        let (same, report) = try surgeon.compensatingBiases(
            for: plan, in: graph, analysis: analysis, probe: probe, mode: .off)
        XCTAssertEqual(report, BiasCompensation.Report())
        XCTAssertEqual(same.nodes.map(\.layer.weights), graph.nodes.map(\.layer.weights))
    }

    func testVaryingChannel_foldsItsMeanAndSaysItIsNotConstant() throws {
        var graph = try model()
        try setChannelOne(of: &graph, gamma: 0.05)
        let (plan, analysis) = try deleteChannelOne(graph)
        let (folded, report) = try surgeon.compensatingBiases(
            for: plan, in: graph, analysis: analysis, probe: probe, mode: .exact)
        XCTAssertEqual(report.folds.map(\.constantChannels), [0, 0])
        // The dense head reads the channel mean, whose mean over the probe is folded: closer to
        // the original than dropping the channel.
        let original = try graph.predict([probe])[1]
        let with = try surgeon.apply(plan, to: folded).predict([probe])[1]
        let without = try surgeon.apply(plan, to: graph).predict([probe])[1]
        XCTAssertLessThan(with.maxAbsDifference(original), without.maxAbsDifference(original))
    }

    func testOneCallApply_foldsThenPrunes() throws {
        let graph = try model()
        let (plan, _) = try deleteChannelOne(graph)
        let (pruned, report) = try surgeon.apply(plan, to: graph, compensating: .exact, probe: probe)
        XCTAssertEqual(report.folds.count, 2)
        XCTAssertEqual(try node("conv", in: pruned).layer.weights[0].shape, [2, 3])
        assertClose(try pruned.predict([probe])[1], try graph.predict([probe])[1], tolerance: 1e-5)
    }
}
