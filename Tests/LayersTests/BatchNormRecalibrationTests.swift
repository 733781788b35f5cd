import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class BatchNormRecalibrationTests: XCTestCase {
    /// input -> Conv -> BN (stale statistics) -> ReLU -> GAP -> Dense.
    static func graph() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [6, 6, 2]), name: "input")
        let c = b.add(Conv2D(filters: 3, kernelSize: [3, 3], padding: .same), name: "conv", inputs: [x])
        let bn = b.add(BatchNormalization(), name: "bn", inputs: [c])
        let r = b.add(ReLU(), name: "relu", inputs: [bn])
        let g = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [r])
        let head = b.add(Dense(units: 2), name: "head", inputs: [g])
        var graph = try b.build(outputs: [head], seed: 4)
        let i = try XCTUnwrap(graph.index(of: "bn"))
        try graph.setWeights(
            [
                Tensor(shape: [3], repeating: 1), Tensor(shape: [3]), Tensor(shape: [3], repeating: 5),
                Tensor(shape: [3], repeating: 100),
            ], ofNode: i)
        return graph
    }

    /// One batch of every image: the moving mean and variance become exactly the per-channel
    /// moments of the BatchNorm's input over those images.
    func testOneBatchOfEverything_givesTheInputsMoments() throws {
        let graph = try Self.graph()
        let images = Tensor.random(shape: [16, 6, 6, 2], seed: 2, range: 0...1)
        let conv = try XCTUnwrap(graph.index(of: "conv"))
        var input: Tensor?
        _ = try graph.predict([images]) { node, value in if node == conv { input = value } }
        let x = try XCTUnwrap(input)
        let (recalibrated, report) = try graph.recalibratingStatistics(
            images: images, batchSize: 16, batches: 5, seed: 0)
        XCTAssertEqual(report, Graph.Recalibration(layers: ["bn"], batches: 1, images: 16))
        let weights = recalibrated.nodes[try XCTUnwrap(recalibrated.index(of: "bn"))].layer.weights
        for c in 0..<3 {
            let values = stride(from: c, to: x.count, by: 3).map { Double(x.scalars[$0]) }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
            XCTAssertEqual(Double(weights[2].scalars[c]), mean, accuracy: 1e-5)
            XCTAssertEqual(Double(weights[3].scalars[c]), variance, accuracy: 1e-5)
        }
        XCTAssertEqual(weights[0].scalars, [1, 1, 1], "gamma and beta are not touched")
    }

    /// Several batches average their statistics; no batch (too few images, or 0 asked) leaves
    /// the graph as it was.
    func testBatchesAverage_andNoBatchChangesNothing() throws {
        let graph = try Self.graph()
        let images = Tensor.random(shape: [20, 6, 6, 2], seed: 3, range: 0...1)
        let (recalibrated, report) = try graph.recalibratingStatistics(
            images: images, batchSize: 8, batches: 9, seed: 1)
        XCTAssertEqual(report.batches, 2, "20 images hold two batches of 8")
        XCTAssertEqual(report.images, 16)
        let mean = recalibrated.nodes[2].layer.weights[2].scalars
        XCTAssertTrue(mean.allSatisfy { $0 != 5 && $0.isFinite }, "\(mean)")
        for (images, batches) in [(images, 0), (images.slice(rows: 0..<0), 3)] {
            let (same, none) = try graph.recalibratingStatistics(
                images: images, batchSize: 8, batches: batches, seed: 1)
            XCTAssertEqual(none.batches, 0)
            XCTAssertEqual(same.nodes[2].layer.weights.map(\.scalars), graph.nodes[2].layer.weights.map(\.scalars))
        }
    }
}
