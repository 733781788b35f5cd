import Foundation
import Layers
import SurgeonCore
import SurgeonKeras
import XCTest

/// Models Keras saved train in surgeon: the backward pass runs through every layer type they
/// use (each layer's backward is checked against finite differences in LayersTests), and a few
/// steps on one batch lower the loss.
final class KerasTrainingTests: XCTestCase {
    func testKerasFixtures_fitOneBatch() throws {
        for name in ["se_block", "separable_block", "dense_block", "mobilenetv2_narrow", "sequential"] {
            var graph = try KerasModelFile.load(
                contentsOf: try KerasFixtureTests.fixture("\(name).keras"), registry: .standard
            ).graph
            let x = try KerasFixtureTests.tensor("\(name).input.npy")
            let classes = graph.shapes[graph.outputNodeIndices[0]].last ?? 1
            let batch = try LabeledData(images: x, labels: (0..<x.shape[0]).map { $0 % classes })
            let loss = SoftmaxCrossEntropy(
                fromLogits: !graph.nodes[graph.outputNodeIndices[0]].layer.producesProbabilities)
            var optimizer = Optimizer(
                settings: OptimizerSettings(kind: .sgd, momentum: 0, nesterov: false, weightDecay: 0))
            // Training-mode losses (batch statistics): with two samples per batch, BatchNorm's
            // moving statistics lag far behind, so the inference loss says little here.
            var losses: [Double] = []
            for step in 0..<8 {
                let (result, _) = try Trainer.step(
                    &graph, optimizer: &optimizer, batch: batch, loss: loss, learningRate: 0.01,
                    context: ForwardContext(training: true, seed: 7))
                XCTAssertTrue(result.loss.isFinite, "\(name): step \(step) loss \(result.loss)")
                losses.append(Double(result.loss))
            }
            try graph.checkInvariants()
            XCTAssertLessThan(losses[7], losses[0], "\(name): the loss on the batch did not fall: \(losses)")
        }
    }
}
