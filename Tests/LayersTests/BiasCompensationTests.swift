import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// A BatchNorm channel with gamma = 0 emits relu(beta) everywhere; folding that constant into
/// the consumers makes pruning it exact with respect to the *unmasked* original. With the real
/// layers: which consumers fold exactly (Dense, unpadded Conv2D) and which only approximately
/// (a 'same'-padded Conv2D) is what those layers declare. The core's side of bias compensation
/// is tested with test-only layers in SurgeonCoreTests.
final class BiasCompensationTests: XCTestCase {
    private let surgeon = Surgeon.standard

    /// input -> conv (4) -> bn (gamma[1] = 0, beta[1] = 0.7) -> relu -+-> conv 1x1 (valid) -> gap -> dense
    ///                                                                +-> gap -> dense (2)
    ///                                                                +-> conv 3x3 same -> gap -> dense
    private func model() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [5, 5, 2]), name: "input")
        let c = b.add(Conv2D(filters: 4, kernelSize: [3, 3], padding: .same), name: "conv", inputs: [x])
        let n = b.add(BatchNormalization(), name: "bn", inputs: [c])
        let r = b.add(ReLU(), name: "relu", inputs: [n])
        let p = b.add(Conv2D(filters: 3, kernelSize: [1, 1], useBias: false), name: "pointwise", inputs: [r])
        let pg = b.add(GlobalAveragePooling2D(), name: "pg", inputs: [p])
        let o1 = b.add(Dense(units: 2), name: "out1", inputs: [pg])
        let g = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [r])
        let d = b.add(Dense(units: 2), name: "dense", inputs: [g])
        let s = b.add(Conv2D(filters: 3, kernelSize: [3, 3], padding: .same), name: "same3x3", inputs: [r])
        let sg = b.add(GlobalAveragePooling2D(), name: "sg", inputs: [s])
        let o3 = b.add(Dense(units: 2), name: "out3", inputs: [sg])
        var graph = try b.build(outputs: [o1, d, o3], seed: 5)
        try randomizeWeights(&graph, seed: 6)
        let bn = graph.index(of: "bn")!
        var w = graph.nodes[bn].layer.weights
        w[0].scalars[1] = 0
        w[1].scalars[1] = 0.7
        try graph.setWeights(w, ofNode: bn)
        return graph
    }

    private func deleteChannelOne(_ graph: Graph) throws -> (PruningPlan, ChannelAnalysis) {
        let analysis = try surgeon.analyze(graph)
        var plan = PruningPlan(template: analysis)
        let group = analysis.outputChannels[graph.index(of: "conv")!][1]
        plan.groups[group.group].delete = [group.index]
        return (plan, analysis)
    }

    func testExactMode_foldsIntoDenseAndUnpaddedConvolutions() throws {
        let graph = try model()
        let (plan, analysis) = try deleteChannelOne(graph)
        let probe = Tensor.random(shape: [3, 5, 5, 2], seed: 1)
        let (folded, report) = try surgeon.compensatingBiases(
            for: plan, in: graph, analysis: analysis, probe: probe, mode: .exact)
        XCTAssertEqual(report.folds.map(\.layer), ["pointwise", "dense"])
        XCTAssertEqual(report.folds.map(\.constantChannels), [1, 1])
        XCTAssertEqual(report.skippedApproximate, 1)
        let pruned = try surgeon.apply(plan, to: folded)
        let original = try graph.predict([probe]), after = try pruned.predict([probe])
        assertClose(after[0], original[0], tolerance: 1e-5, "1x1 conv consumer")
        assertClose(after[1], original[1], tolerance: 1e-5, "dense consumer")
        let uncompensated = try surgeon.apply(plan, to: graph).predict([probe])
        XCTAssertGreaterThan(
            uncompensated[1].maxAbsDifference(original[1]), 1e-3, "without folding the constant is lost")
    }

    func testAllMode_alsoFoldsPaddedConvolutionsApproximately() throws {
        let graph = try model()
        let (plan, analysis) = try deleteChannelOne(graph)
        let probe = Tensor.random(shape: [3, 5, 5, 2], seed: 1)
        let (folded, report) = try surgeon.compensatingBiases(
            for: plan, in: graph, analysis: analysis, probe: probe, mode: .all)
        XCTAssertEqual(report.folds.first { $0.layer == "same3x3" }?.exact, false)
        let original = try graph.predict([probe])[2]
        let with = try surgeon.apply(plan, to: folded).predict([probe])[2]
        let without = try surgeon.apply(plan, to: graph).predict([probe])[2]
        XCTAssertLessThan(with.maxAbsDifference(original), without.maxAbsDifference(original))
    }

    func testVaryingChannel_foldsItsMeanAndSaysItIsNotConstant() throws {
        var graph = try model()
        let bn = graph.index(of: "bn")!
        var w = graph.nodes[bn].layer.weights
        w[0].scalars[1] = 0.05
        try graph.setWeights(w, ofNode: bn)
        let (plan, analysis) = try deleteChannelOne(graph)
        let probe = Tensor.random(shape: [3, 5, 5, 2], seed: 1)
        let (folded, report) = try surgeon.compensatingBiases(
            for: plan, in: graph, analysis: analysis, probe: probe, mode: .exact)
        XCTAssertEqual(report.folds.map(\.constantChannels), [0, 0])
        // The dense head reads the global average, whose mean over the probe is folded:
        // closer to the original than dropping the channel.
        let original = try graph.predict([probe])[1]
        let with = try surgeon.apply(plan, to: folded).predict([probe])[1]
        let without = try surgeon.apply(plan, to: graph).predict([probe])[1]
        XCTAssertLessThan(with.maxAbsDifference(original), without.maxAbsDifference(original))
    }
}
