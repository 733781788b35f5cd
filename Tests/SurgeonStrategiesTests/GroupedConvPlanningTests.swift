import Layers
import SurgeonCore
import SurgeonStrategies
import SurgeonTestSupport
import XCTest

/// The planner's plans respect a grouped convolution's blocks (the same number of channels
/// from every group) under every kind of budget, and prune exactly.
final class GroupedConvPlanningTests: XCTestCase {
    private let surgeon = Surgeon.standard

    private func check(
        _ criterion: any ImportanceCriterion, _ budget: Budget, policy: any GroupPolicy = ReductionPolicy(.mean),
        _ label: String
    ) throws {
        let graph = try groupedConvGraph(seed: 3)
        let analysis = try surgeon.analyze(graph)
        let result = try Planner(criterion: criterion, policy: policy, budget: budget, surgeon: surgeon).plan(graph)
        let perBlock = deletionsPerBlock(result.plan, analysis)
        for counts in perBlock { XCTAssertEqual(Set(counts).count, 1, "\(label): \(counts)") }
        XCTAssertTrue(
            perBlock.contains { $0[0] > 0 }, "\(label) pruned nothing in the grouped convolution: \(perBlock)")
        XCTAssertEqual(result.coupledGroups, [], label)
        let x = Tensor.random(shape: [2, 6, 6, 3], seed: 4)
        try assertPruningIsExact(graph, plan: result.plan, surgeon: surgeon, inputs: [x], label)
    }

    func testPlanner_deletesEqualCountsFromEveryGroup_underEveryBudget() throws {
        let norm = FilterNormCriterion(order: 1)
        try check(norm, Budget(.ratio(0.5, global: false)), "local ratio 0.5")
        try check(norm, Budget(.ratio(0.4, global: true)), "global ratio 0.4")
        try check(norm, Budget(.macs(0.6)), "MACs 0.6")
        try check(norm, Budget(.params(0.6)), "parameters 0.6")
        try check(norm, Budget(.ratio(0.5, global: false), roundTo: 4), "local ratio 0.5, round to 4")
        try check(BNGammaCriterion(), Budget(.ratio(0.5, global: false)), "bn-gamma local ratio")
        try check(RandomCriterion(), Budget(.threshold(0.9)), "random threshold 0.9")
        try check(norm, Budget(.ratio(0.75, global: false)), policy: IntersectionPolicy(), "intersection")
        try check(norm, Budget(.ratio(0.5, global: false)), policy: DeepestPolicy(), "deepest")
    }

    func testPlanner_roundsALocalRatioDownToWholeBlocks() throws {
        // 8 channels in 4 blocks: a ratio of 0.6 asks for 4.8 -> 4 deletions, one per block;
        // 0.3 asks for 2, which is less than one per block, so nothing goes.
        let graph = try groupedConvGraph(seed: 3)
        let analysis = try surgeon.analyze(graph)
        for (ratio, expected) in [(0.6, 1), (0.3, 0)] {
            let plan = try Planner(
                criterion: FilterNormCriterion(order: 2), policy: ReductionPolicy(.sum),
                budget: Budget(.ratio(ratio, global: false)), surgeon: surgeon
            ).plan(graph).plan
            let counts = [Int](repeating: expected, count: 4)
            XCTAssertEqual(deletionsPerBlock(plan, analysis), [counts, counts], "ratio \(ratio)")
        }
    }

    func testGroupLasso_coversTheGroupedConvolutionsInputSlices() throws {
        // The grouped kernel [3, 3, 2, 8] holds input channel c only in the filters of c's
        // group: its slice for input channel 0 is kernel[., ., 0, 0..<2].
        let graph = try groupedConvGraph(seed: 5)
        let analysis = try surgeon.analyze(graph)
        let slices = ChannelSlices(graph: graph, analysis: analysis, surgeon: surgeon)
        let gconv = try XCTUnwrap(graph.nodes.firstIndex { $0.name == "gconv" })
        let input = try XCTUnwrap(slices.slices.first { $0.node == gconv && !$0.isOutput })
        XCTAssertEqual(input.channels.count, 8)
        let shape = graph.nodes[gconv].layer.weights[0].shape
        var elements = [[Int]](repeating: [], count: 8)
        input.forEachElement(shape: shape) { c, e in elements[c].append(e) }
        XCTAssertEqual(elements.map(\.count), Array(repeating: 9 * 2, count: 8))
        // Element (t, i, f) is at (t * 2 + i) * 8 + f; input channel 3 is i = 1 of group 1 (f = 2, 3).
        var expected: [Int] = []
        for t in 0..<9 {
            let row = (t * 2 + 1) * 8
            expected += [row + 2, row + 3]
        }
        XCTAssertEqual(elements[3].sorted(), expected)
        let lasso = try GroupLassoRegularizer(lambda: 0.1, graph: graph, surgeon: surgeon)
        var gradients = graph.nodes.map { $0.layer.weights.map { Tensor(shape: $0.shape) } }
        _ = lasso.apply(to: graph, gradients: &gradients)
        XCTAssertTrue(gradients[gconv][0].scalars.allSatisfy { $0 != 0 })
    }
}
