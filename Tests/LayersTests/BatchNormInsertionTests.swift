import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// `BatchNormInsertion`: identity BatchNorms after the convolutions that lost theirs.
final class BatchNormInsertionTests: XCTestCase {
    /// input -> conv1 -> relu -> conv2 -> bn -> dw -> gap -> dense; conv2 already has its BN.
    static func graph() throws -> Graph {
        var b = GraphBuilder()
        let input = b.add(InputLayer(shape: [6, 6, 3]), name: "input")
        let c1 = b.add(Conv2D(filters: 4, kernelSize: [3, 3], padding: .same), name: "conv1", inputs: [input])
        let relu = b.add(ReLU(), name: "relu", inputs: [c1])
        let c2 = b.add(Conv2D(filters: 5, kernelSize: [1, 1]), name: "conv2", inputs: [relu])
        let bn = b.add(BatchNormalization(), name: "bn", inputs: [c2])
        let dw = b.add(DepthwiseConv2D(kernelSize: [3, 3], padding: .same), name: "dw", inputs: [bn])
        let gap = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [dw])
        let head = b.add(Dense(units: 3), name: "head", inputs: [gap])
        return try b.build(outputs: [head], seed: 3)
    }

    func testIdentityBatchNorms_leaveTheOutputsBitForBit() throws {
        let graph = try Self.graph()
        let (result, added) = try BatchNormInsertion.inserting(into: graph)
        XCTAssertEqual(added, ["conv1", "dw"])
        XCTAssertEqual(result.nodes.count, graph.nodes.count + 2)
        XCTAssertEqual(result["relu"]?.inputs, ["conv1/BatchNormalization"])
        var random = SeededRandom(seed: 4)
        var x = Tensor(shape: [2, 6, 6, 3])
        for i in 0..<x.count { x.scalars[i] = random.nextUnitFloat() * 4 - 2 }
        XCTAssertEqual(try result.predict([x])[0].scalars, try graph.predict([x])[0].scalars)
    }

    func testInsertedBatchNorms_giveEveryConvolutionAGamma() throws {
        let (result, _) = try BatchNormInsertion.inserting(into: try Self.graph())
        let analysis = try Surgeon.standard.analyze(result)
        for group in analysis.groups where group.prunable {
            XCTAssertTrue(
                group.members.contains { $0.type == "BatchNormalization" }, "group \(group.id) has no BatchNorm")
        }
    }

    func testTheVariance_makesVariancePlusEpsilonExactlyOne() {
        for epsilon: Float in [1e-3, 1e-5, 1e-2, 0.3] {
            XCTAssertEqual(BatchNormInsertion.unitVariance(epsilon: epsilon) + epsilon, 1, "\(epsilon)")
        }
    }
}
