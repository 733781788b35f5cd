import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class BatchNormFoldingTests: XCTestCase {
    /// input -> Conv (no bias) -> BN -> ReLU -> DepthwiseConv -> BN -> [BN read twice: kept] ...
    /// -> GAP -> Dense -> BN (the output).
    static func graph() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [6, 6, 3]), name: "input")
        let c = b.add(
            Conv2D(filters: 4, kernelSize: [3, 3], padding: .same, useBias: false), name: "conv", inputs: [x])
        let bn1 = b.add(BatchNormalization(), name: "conv_bn", inputs: [c])
        let r = b.add(ReLU(), name: "relu", inputs: [bn1])
        let d = b.add(DepthwiseConv2D(kernelSize: [3, 3], depthMultiplier: 2), name: "dw", inputs: [r])
        let bn2 = b.add(BatchNormalization(epsilon: 1e-5), name: "dw_bn", inputs: [d])
        let shared = b.add(Conv2D(filters: 8, kernelSize: [1, 1]), name: "shared", inputs: [bn2])
        let bn3 = b.add(BatchNormalization(), name: "shared_bn", inputs: [shared])
        let sum = b.add(Add(), name: "sum", inputs: [shared, bn3])
        let gap = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [sum])
        let dense = b.add(Dense(units: 5), name: "dense", inputs: [gap])
        let bn4 = b.add(BatchNormalization(), name: "dense_bn", inputs: [dense])
        var graph = try b.build(outputs: [bn4], seed: 5)
        try randomizeBatchNorms(&graph)
        return graph
    }

    func testFolding_keepsTheOutputs_andRemovesTheFoldableBatchNorms() throws {
        let graph = try Self.graph()
        let (folded, names) = try BatchNormFolding.folding(graph)
        XCTAssertEqual(names, ["conv_bn", "dw_bn", "dense_bn"])
        XCTAssertNil(folded.index(of: "conv_bn"))
        XCTAssertNotNil(folded.index(of: "shared_bn"), "a BatchNorm whose layer has another reader stays")
        XCTAssertEqual(folded.outputNames, ["dense"])
        XCTAssertEqual(folded.nodes[try XCTUnwrap(folded.index(of: "conv"))].layer.config["use_bias"], .bool(true))
        let x = Tensor.random(shape: [3, 6, 6, 3], seed: 9)
        assertClose(try folded.predict([x])[0], try graph.predict([x])[0], tolerance: 1e-4, "folded")
        XCTAssertLessThan(folded.parameterCount, graph.parameterCount)
    }

    /// Insertion then folding gives back the model it started from (identity BatchNorms fold
    /// into an exact copy of the kernels, up to the bias a bias-free layer gains).
    func testInsertedBatchNorms_foldBackToTheSameOutputs() throws {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [5, 5, 2]), name: "input")
        let c = b.add(Conv2D(filters: 3, kernelSize: [3, 3]), name: "conv", inputs: [x])
        let gap = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [c])
        let head = b.add(Dense(units: 2), name: "head", inputs: [gap])
        let graph = try b.build(outputs: [head], seed: 1)
        let (withBN, added) = try BatchNormInsertion.inserting(into: graph)
        XCTAssertEqual(added, ["conv"])
        let (back, folded) = try BatchNormFolding.folding(withBN)
        XCTAssertEqual(folded.count, 1)
        XCTAssertEqual(back.nodes.map(\.name), graph.nodes.map(\.name))
        XCTAssertEqual(
            back.nodes[1].layer.weights.map(\.scalars), graph.nodes[1].layer.weights.map(\.scalars),
            "scale 1 / sqrt(1) and shift 0 leave the weights bit for bit")
    }
}

/// Gives every BatchNormalization of `graph` gamma, beta and moving statistics far from the
/// identity (seeded by node index), so that a wrong fold shows.
func randomizeBatchNorms(_ graph: inout Graph) throws {
    for i in graph.nodes.indices where graph.nodes[i].layer.kerasClassName == "BatchNormalization" {
        let n = graph.nodes[i].layer.weights[0].count
        try graph.setWeights(
            [
                Tensor.random(shape: [n], seed: UInt64(i), range: 0.5...2),
                Tensor.random(shape: [n], seed: UInt64(i) + 10, range: -1...1),
                Tensor.random(shape: [n], seed: UInt64(i) + 20, range: -1...1),
                Tensor.random(shape: [n], seed: UInt64(i) + 30, range: 0.2...3),
            ], ofNode: i)
    }
}
