import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// Pruning through a grouped convolution: the block constraints it declares, the surgeon's
/// refusal of plans that break them, and exact pruning for plans that keep them.
final class GroupedConvSurgeryTests: XCTestCase {
    private let surgeon = Surgeon.standard

    private func groupOf(_ analysis: ChannelAnalysis, _ graph: Graph, _ name: String) throws -> Int {
        let i = try XCTUnwrap(graph.nodes.firstIndex { $0.name == name })
        return analysis.outputChannels[i][0].group
    }

    func testGroupedConv_splitsItsInputAndOutputGroupsIntoEqualBlocks() throws {
        let graph = try groupedConvGraph()
        let analysis = try surgeon.analyze(graph)
        XCTAssertEqual(analysis.blockConstraints.map(\.layer), ["gconv", "gconv"])
        XCTAssertEqual(analysis.blockConstraints.map(\.side), [.output, .input])
        let blocks: BlockLayout = .blocks([[0, 1], [2, 3], [4, 5], [6, 7]])
        XCTAssertEqual(analysis.blockLayout(ofGroup: try groupOf(analysis, graph, "conv")), blocks)
        XCTAssertEqual(analysis.blockLayout(ofGroup: try groupOf(analysis, graph, "gconv")), blocks)
        XCTAssertEqual(analysis.blockLayout(ofGroup: try groupOf(analysis, graph, "conv3")), .free)
    }

    func testPlanDeletingUnequalCountsPerGroup_isRefusedNamingTheLayerGroupsAndCounts() throws {
        let graph = try groupedConvGraph()
        let analysis = try surgeon.analyze(graph)
        let g = try groupOf(analysis, graph, "conv")
        var plan = PruningPlan(template: analysis)
        plan.groups[g].delete = [0, 1, 2]
        XCTAssertThrowsError(try surgeon.apply(plan, to: graph)) { error in
            XCTAssertEqual(
                error as? SurgeryError,
                .unevenBlocks(
                    layer: "gconv", type: "Conv2D", side: "input", groups: [g], blockSize: 2, deleted: [2, 1, 0, 0]))
            XCTAssertEqual(
                "\(error)",
                "layer 'gconv' (Conv2D) splits its input channels into 4 groups of 2, and every group must lose the same "
                    + "number, but the plan (group(s) \(g)) deletes 2, 1, 0, 0 channels from them")
        }
        let out = try groupOf(analysis, graph, "gconv")
        plan = PruningPlan(template: analysis)
        plan.groups[out].delete = [7]
        XCTAssertThrowsError(try surgeon.validate(plan, against: analysis)) { error in
            XCTAssertTrue("\(error)".contains("splits its output channels into 4 groups of 2"), "\(error)")
        }
    }

    func testPlansKeepingEqualCountsPerGroup_pruneExactly() throws {
        let graph = try groupedConvGraph()
        let analysis = try surgeon.analyze(graph)
        var plan = PruningPlan(template: analysis)
        plan.groups[try groupOf(analysis, graph, "conv")].delete = [1, 2, 4, 7]
        plan.groups[try groupOf(analysis, graph, "gconv")].delete = [0, 3, 5, 6]
        let x = Tensor.random(shape: [2, 6, 6, 3], seed: 5)
        let pruned = try assertPruningIsExact(graph, plan: plan, surgeon: surgeon, inputs: [x])
        let gconv = try XCTUnwrap(pruned.nodes.first { $0.name == "gconv" }?.layer as? Conv2D)
        XCTAssertEqual(gconv.groups, 4)
        XCTAssertEqual(gconv.weights[0].shape, [3, 3, 1, 4])
    }

    func testRandomPlans_deleteEqualCountsPerGroupAndPruneExactly() throws {
        let graph = try groupedConvGraph()
        let analysis = try surgeon.analyze(graph)
        let x = Tensor.random(shape: [2, 6, 6, 3], seed: 6)
        var random = SeededRandom(seed: 7)
        var prunedGrouped = 0
        for attempt in 0..<8 {
            let plan = randomPlan(analysis, random: &random)
            for counts in deletionsPerBlock(plan, analysis) {
                XCTAssertEqual(Set(counts).count, 1, "plan \(attempt): \(counts)")
                if counts[0] > 0 { prunedGrouped += 1 }
            }
            try assertPruningIsExact(graph, plan: plan, surgeon: surgeon, inputs: [x], "plan \(attempt)")
        }
        XCTAssertGreaterThan(prunedGrouped, 0, "no random plan pruned the grouped convolution")
    }

    func testBlocksReachingAnotherGroup_areCoupledForThePlanner() throws {
        // Concatenate(a, b) -> grouped conv with 2 groups of 4: block 0 holds a's 3 channels
        // and one of b's, so the blocks span two groups.
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [5, 5, 3]), name: "input")
        let c1 = b.add(Conv2D(filters: 3, kernelSize: [1, 1]), name: "a", inputs: [x])
        let c2 = b.add(Conv2D(filters: 5, kernelSize: [1, 1]), name: "b", inputs: [x])
        let cat = b.add(Concatenate(), name: "cat", inputs: [c1, c2])
        let g = b.add(Conv2D(filters: 4, kernelSize: [3, 3], groups: 2), name: "gconv", inputs: [cat])
        let p = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [g])
        let d = b.add(Dense(units: 2), name: "dense", inputs: [p])
        let graph = try b.build(outputs: [d])
        let analysis = try surgeon.analyze(graph)
        guard case let .coupled(reason) = analysis.blockLayout(ofGroup: try groupOf(analysis, graph, "a")) else {
            return XCTFail("expected a coupled layout")
        }
        XCTAssertTrue(reason.contains("layer 'gconv' splits its input into 2 blocks"), reason)
        // A hand-made plan that balances the blocks across the two groups is accepted and exact.
        var plan = PruningPlan(template: analysis)
        plan.groups[try groupOf(analysis, graph, "a")].delete = [0]
        plan.groups[try groupOf(analysis, graph, "b")].delete = [4]
        try assertPruningIsExact(
            graph, plan: plan, surgeon: surgeon, inputs: [Tensor.random(shape: [2, 5, 5, 3], seed: 8)])
    }
}
