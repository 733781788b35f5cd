import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class LayerProfileTests: XCTestCase {
    /// A profiled training step times every layer type, forward and backward, and computes
    /// exactly what an unprofiled one does.
    func testProfiledStep_timesEveryLayerType_andChangesNothing() throws {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [6, 6, 2]), name: "input")
        let c1 = b.add(Conv2D(filters: 4, kernelSize: [3, 3], padding: .same), name: "c1", inputs: [x])
        let n1 = b.add(BatchNormalization(), name: "bn1", inputs: [c1])
        let r1 = b.add(ReLU(), name: "r1", inputs: [n1])
        let c2 = b.add(Conv2D(filters: 4, kernelSize: [1, 1]), name: "c2", inputs: [r1])
        let g = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [c2])
        let head = b.add(Dense(units: 3), name: "head", inputs: [g])
        let graph = try b.build(outputs: [head], seed: 2)
        let batch = try LabeledData(
            images: Tensor.random(shape: [8, 6, 6, 2], seed: 3), labels: (0..<8).map { $0 % 3 })
        let loss = SoftmaxCrossEntropy(fromLogits: true)
        func run(_ profile: LayerProfile?) throws -> Graph {
            var copy = graph
            var optimizer = Optimizer(settings: OptimizerSettings())
            for k in 0..<2 {
                _ = try Trainer.step(
                    &copy, optimizer: &optimizer, batch: batch, loss: loss, learningRate: 0.05,
                    context: ForwardContext(training: true, seed: UInt64(k)), profile: profile)
            }
            return copy
        }
        let profile = LayerProfile()
        let profiled = try run(profile), plain = try run(nil)
        XCTAssertEqual(profiled.nodes.map { $0.layer.weights }, plain.nodes.map { $0.layer.weights })
        let entries = Dictionary(uniqueKeysWithValues: profile.table.map { ($0.type, $0) })
        XCTAssertEqual(entries["Conv2D"]?.forwardCalls, 4, "two convolutions, two steps")
        XCTAssertEqual(entries["Conv2D"]?.backwardCalls, 4)
        for type in ["BatchNormalization", "ReLU", "GlobalAveragePooling2D", "Dense"] {
            XCTAssertEqual(entries[type]?.forwardCalls, 2, type)
            XCTAssertEqual(entries[type]?.backwardCalls, 2, type)
        }
        XCTAssertEqual(entries[LayerProfile.loss]?.forwardCalls, 2)
        XCTAssertEqual(entries[LayerProfile.update]?.backwardCalls, 2)
        XCTAssertTrue(profile.table.allSatisfy { $0.forwardSeconds >= 0 && $0.backwardSeconds >= 0 })
        XCTAssertEqual(profile.totalSeconds, profile.table.reduce(0) { $0 + $1.seconds }, accuracy: 1e-12)
    }
}
