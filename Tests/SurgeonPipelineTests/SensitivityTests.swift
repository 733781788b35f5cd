import Layers
import SurgeonCore
import SurgeonPipeline
import SurgeonStrategies
import SurgeonTestSupport
import XCTest

/// Sensitivity curves prune one group at a time; a grouped convolution's groups lose the same
/// share of every block, so its curve is measured instead of refused.
final class SensitivityTests: XCTestCase {
    func testGroupedConvolution_getsACurveWithEqualCutsPerBlock() throws {
        let graph = try groupedConvGraph()
        let shape = graph.shapes[graph.inputNodeIndices[0]]
        var random = SeededRandom(seed: 2)
        var x = Tensor(shape: [4] + shape)
        for i in 0..<x.count { x.scalars[i] = random.nextUnitFloat() }
        let classes = graph.shapes[graph.outputNodeIndices[0]].last ?? 1
        let data = try LabeledData(images: x, labels: (0..<4).map { $0 % classes })
        let report = try SensitivityReport.measure(
            graph, data: data, criterion: FilterNormCriterion(order: 1), policy: ReductionPolicy(.sum),
            surgeon: .standard)
        let analysis = try Surgeon.standard.analyze(graph)
        let blocked = analysis.prunableGroups.filter {
            if case .blocks = analysis.blockLayout(ofGroup: $0.id) { return true }
            return false
        }
        XCTAssertFalse(blocked.isEmpty, "the test graph has no grouped block layout")
        for group in blocked {
            XCTAssertTrue(report.curves.contains { $0.group == group.id }, "no curve for group \(group.id)")
        }
    }
}
