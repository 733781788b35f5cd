import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// The surgery property on seeded random graphs of the built-in layers (moved here from
/// SurgeonCoreTests, which now checks the same property on test-only layers): pruning a random
/// plan equals the original with the deleted channels zeroed at every tensor of their groups.
final class RandomGraphsSurgeryTests: XCTestCase {
    private let surgeon = Surgeon.standard

    func testRandomGraphs_prunedEqualsMaskedOriginal() throws {
        var checked = 0, prunedChannels = 0
        for seed in UInt64(0)..<500 {
            var graph = try RandomGraphs.make(seed: seed)
            try graph.checkInvariants()
            try randomizeWeights(&graph, seed: seed)
            let analysis = try surgeon.analyze(graph)
            var random = SeededRandom(seed: seed ^ 0xABCD)
            let plan = randomPlan(analysis, random: &random)
            let input = Tensor.random(shape: [2] + graph.shapes[graph.inputNodeIndices[0]], seed: seed)
            try assertPruningIsExact(
                graph, plan: plan, surgeon: surgeon, inputs: [input], tolerance: 1e-4, "random graph seed \(seed)")
            checked += 1
            prunedChannels += plan.deletedCount
        }
        XCTAssertEqual(checked, 500)
        XCTAssertGreaterThan(prunedChannels, 1000)
    }

    func testRandomGraphs_coverEveryStructure() throws {
        var types = Set<String>()
        var multiOutput = 0, multiplier = 0
        for seed in UInt64(0)..<500 {
            let graph = try RandomGraphs.make(seed: seed)
            types.formUnion(graph.nodes.map(\.layer.kerasClassName))
            if graph.outputNames.count > 1 { multiOutput += 1 }
            if graph.nodes.contains(where: { ($0.layer as? DepthwiseConv2D)?.depthMultiplier ?? 1 > 1 }) {
                multiplier += 1
            }
        }
        for required in [
            "Add", "Concatenate", "Multiply", "DepthwiseConv2D", "Flatten", "Dense", "BatchNormalization",
            "ZeroPadding2D",
            "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
            "SeparableConv2D", "Conv2DTranspose", "Cropping2D", "UpSampling2D",
        ] {
            XCTAssertTrue(types.contains(required), "no random graph has a \(required)")
        }
        XCTAssertGreaterThan(multiOutput, 50)
        XCTAssertGreaterThan(multiplier, 50)
    }
}
