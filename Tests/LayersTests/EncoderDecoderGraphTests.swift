import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonTestSupport
import XCTest

/// SeparableConv2D, Conv2DTranspose, Cropping2D and UpSampling2D together in a graph: training
/// steps lower the loss, and the model file keeps them bit-exactly.
final class EncoderDecoderGraphTests: XCTestCase {
    private func encoderDecoder() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [6, 7, 2]), name: "input")
        var y = b.add(
            SeparableConv2D(
                filters: 6, kernelSize: [3, 3], strides: [2, 2], padding: .same, depthMultiplier: 2,
                activation: .relu), name: "encode", inputs: [x])
        y = b.add(
            Conv2DTranspose(filters: 4, kernelSize: [3, 3], strides: [2, 2], activation: .tanh), name: "decode",
            inputs: [y])
        y = b.add(Cropping2D(top: 1, bottom: 0, left: 1, right: 1), name: "crop", inputs: [y])
        y = b.add(UpSampling2D(size: [1, 2]), name: "up", inputs: [y])
        y = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [y])
        y = b.add(Dense(units: 3), name: "logits", inputs: [y])
        return try b.build(outputs: [y], seed: 3)
    }

    func testTrainingSteps_lowerTheLoss() throws {
        var graph = try encoderDecoder()
        try graph.checkInvariants()
        XCTAssertEqual(graph.shapes, [[6, 7, 2], [3, 4, 6], [7, 9, 4], [6, 7, 4], [6, 14, 4], [4], [3]])
        let batch = try LabeledData(
            images: Tensor.random(shape: [8, 6, 7, 2], seed: 4), labels: [0, 1, 2, 0, 1, 2, 0, 1])
        var optimizer = Optimizer(settings: OptimizerSettings(weightDecay: 0))
        let loss = SoftmaxCrossEntropy(fromLogits: true)
        var losses: [Double] = []
        for step in 0..<30 {
            let (result, _) = try Trainer.step(
                &graph, optimizer: &optimizer, batch: batch, loss: loss, learningRate: 0.05,
                context: ForwardContext(training: true, seed: UInt64(step)))
            losses.append(result.loss)
        }
        XCTAssertLessThan(losses.last!, losses.first! - 0.01, "\(losses)")
    }

    func testModelFile_keepsTheNewLayersBitExactly() throws {
        let graph = try encoderDecoder()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "surgeon-encdec-\(UUID().uuidString).surgeon")
        defer { try? FileManager.default.removeItem(at: url) }
        try ModelFile.save(ModelFile.Contents(graph: graph), to: url)
        let loaded = try ModelFile.load(contentsOf: url, registry: .standard).graph
        for (a, b) in zip(loaded.nodes, graph.nodes) {
            XCTAssertEqual(a.layer.config, b.layer.config, a.name)
            XCTAssertEqual(a.layer.weights, b.layer.weights, a.name)
        }
        let x = Tensor.random(shape: [2, 6, 7, 2], seed: 5)
        XCTAssertEqual(try loaded.predict([x]), try graph.predict([x]))
    }
}
