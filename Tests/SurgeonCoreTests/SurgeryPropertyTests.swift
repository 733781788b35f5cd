import SurgeonCore
import SurgeonCoreTestSupport
import XCTest

/// The surgery property on seeded random graphs of test layers: pruning a random plan equals
/// the original with the deleted channels zeroed at every tensor of their groups.
final class SurgeryPropertyTests: XCTestCase {
    func testRandomGraphs_prunedEqualsMaskedOriginal() throws {
        var checked = 0, prunedChannels = 0
        for seed in UInt64(0)..<500 {
            var graph = try TestGraphs.random(seed: seed)
            try graph.checkInvariants()
            try randomizeWeights(&graph, seed: seed)
            let analysis = try TestLayers.surgeon.analyze(graph)
            var random = SeededRandom(seed: seed ^ 0xABCD)
            let plan = randomPlan(analysis, random: &random)
            let input = Tensor.random(shape: [2] + graph.shapes[graph.inputNodeIndices[0]], seed: seed)
            try assertPruningIsExact(
                graph, plan: plan, surgeon: TestLayers.surgeon, inputs: [input], tolerance: 1e-4,
                "random graph seed \(seed)")
            checked += 1
            prunedChannels += plan.deletedCount
        }
        XCTAssertEqual(checked, 500)
        XCTAssertGreaterThan(prunedChannels, 1000)
    }

    func testRandomGraphs_coverEveryStructure() throws {
        var types = Set<String>()
        var multiOutput = 0, multiplier = 0, sumOfJoin = 0, joinOfSum = 0, threeWaySum = 0, deadBranch = 0
        for seed in UInt64(0)..<500 {
            let graph = try TestGraphs.random(seed: seed)
            types.formUnion(graph.nodes.map(\.layer.kerasClassName))
            if graph.outputNames.count > 1 { multiOutput += 1 }
            if graph.nodes.contains(where: { ($0.layer as? FanOut)?.multiplier ?? 1 > 1 }) { multiplier += 1 }
            let consumers = graph.consumers, outputs = Set(graph.outputNodeIndices)
            if graph.nodes.indices.contains(where: { consumers[$0].isEmpty && !outputs.contains($0) }) {
                deadBranch += 1
            }
            for (i, node) in graph.nodes.enumerated() {
                let inputs = graph.inputIndices[i].map { graph.nodes[$0].layer }
                if node.layer is Sum, inputs.contains(where: { $0 is Join }) { sumOfJoin += 1 }
                if node.layer is Join, inputs.contains(where: { $0 is Sum }) { joinOfSum += 1 }
                if node.layer is Sum, inputs.count == 3 { threeWaySum += 1 }
            }
        }
        XCTAssertEqual(types, Set(TestLayers.registry.names), "types no random graph has")
        XCTAssertGreaterThan(multiOutput, 50)
        XCTAssertGreaterThan(multiplier, 50)
        XCTAssertGreaterThan(sumOfJoin, 10)
        XCTAssertGreaterThan(joinOfSum, 10)
        XCTAssertGreaterThan(threeWaySum, 50)
        XCTAssertGreaterThan(deadBranch, 50)
    }
}
