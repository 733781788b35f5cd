import Layers
import SurgeonCore
import SurgeonPipeline
import SurgeonTestSupport
import XCTest

/// The built-in architectures can be pruned: groups are found, a plan deleting half of every
/// prunable group applies, and the result is exact.
final class ArchitectureSurgeryTests: XCTestCase {
    private func halfPlan(_ analysis: ChannelAnalysis) -> PruningPlan {
        var plan = PruningPlan(template: analysis)
        for k in plan.groups.indices where plan.groups[k].prunable {
            plan.groups[k].delete = Array(stride(from: 0, to: plan.groups[k].size, by: 2))
        }
        return plan
    }

    func testSmallVariants_halfOfEveryGroupIsExact() throws {
        for name in ["mobilenetv2", "res", "vgg"] {
            var graph = try ArchitectureRegistry.standard.architecture(named: name)
                .build(ArchitectureOptions(inputShape: [16, 16, 1], classes: 10, width: 0.5))
            try randomizeWeights(&graph, seed: 1)
            let analysis = try Surgeon.standard.analyze(graph)
            let pruned = try assertPruningIsExact(
                graph, plan: halfPlan(analysis), surgeon: .standard,
                inputs: [Tensor.random(shape: [2, 16, 16, 1], seed: 2)], name)
            XCTAssertLessThan(Double(pruned.macCount), 0.4 * Double(graph.macCount), name)
        }
    }

    func testResNet50_groupsWholeStagesAndPrunesHalfOfEveryGroup() throws {
        let graph = try ArchitectureRegistry.standard.architecture(named: "resnet50")
            .build(ArchitectureOptions(inputShape: [224, 224, 3], classes: 1000))
        let analysis = try Surgeon.standard.analyze(graph)
        XCTAssertEqual(analysis.groups.count, 39)
        XCTAssertEqual(analysis.prunableGroups.count, 37)
        // A residual stage is one group: every block's last conv and the projection shortcut.
        let stage = analysis.groups[analysis.outputChannels[graph.index(of: "conv2_block1_0_conv")!][0].group]
        XCTAssertEqual(
            stage.members.filter { $0.role == .producer }.map(\.layer),
            ["conv2_block1_0_conv", "conv2_block1_3_conv", "conv2_block2_3_conv", "conv2_block3_3_conv"])
        let pruned = try Surgeon.standard.apply(halfPlan(analysis), to: graph, analysis: analysis)
        try pruned.checkInvariants()
        XCTAssertEqual(pruned.shapes[pruned.index(of: "conv5_block3_out")!], [7, 7, 1024])
        XCTAssertEqual(pruned.shapes.last, [1000])
        XCTAssertLessThan(pruned.parameterCount, graph.parameterCount / 3)
    }
}
