import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonTestSupport
import XCTest

@testable import SurgeonCore

/// A tiny separable problem: the class is which quadrant of a 4x4 image is bright.
private func quadrantData(count: Int, seed: UInt64) throws -> LabeledData {
    var random = SeededRandom(seed: seed)
    var images = Tensor(shape: [count, 4, 4, 1])
    var labels: [Int] = []
    for n in 0..<count {
        let label = Int(random.next() % 4)
        labels.append(label)
        for y in 0..<4 {
            for x in 0..<4 {
                let quadrant = (y / 2) * 2 + x / 2
                images.scalars[n * 16 + y * 4 + x] = (quadrant == label ? 1 : 0) + 0.3 * random.nextFloat(in: -1, 1)
            }
        }
    }
    return try LabeledData(images: images, labels: labels)
}

private func smallNet(seed: UInt64 = 1) throws -> Graph {
    var b = GraphBuilder()
    var x = b.add(InputLayer(shape: [4, 4, 1]), name: "input")
    x = b.add(Conv2D(filters: 6, kernelSize: [3, 3], padding: .same, useBias: false), name: "conv", inputs: [x])
    x = b.add(BatchNormalization(momentum: 0.9), name: "bn", inputs: [x])
    x = b.add(ReLU(), name: "relu", inputs: [x])
    x = b.add(Dropout(rate: 0.1), name: "drop", inputs: [x])
    x = b.add(Flatten(), name: "flat", inputs: [x])
    x = b.add(Dense(units: 4, activation: .softmax), name: "out", inputs: [x])
    return try b.build(outputs: [x], seed: seed)
}

/// Adds c * sum(w^2) over kernels: a regulariser to test the hook with.
private struct SquaredKernels: Regularizer {
    var name: String { "squared" }
    var strength: Double
    func apply(to graph: Graph, gradients: inout [[Tensor]]) -> Double {
        var penalty = 0.0
        for (i, node) in graph.nodes.enumerated() where !gradients[i].isEmpty {
            let w = node.layer.weights[0]
            guard w.rank >= 2 else { continue }
            for j in 0..<w.count {
                penalty += strength * Double(w.scalars[j] * w.scalars[j])
                gradients[i][0].scalars[j] += Float(2 * strength) * w.scalars[j]
            }
        }
        return penalty
    }
    func report(for graph: Graph) -> [String: Double] { ["kernels": 1] }
}


final class TrainerTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        Compute.setThreads(2)
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-trainer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func testTraining_learnsASeparableProblem() throws {
        let data = try quadrantData(count: 256, seed: 1)
        let validation = try quadrantData(count: 64, seed: 2)
        let trainer = Trainer(configuration: TrainingConfiguration(epochs: 6, batchSize: 16, learningRate: 0.1))
        let before = try Evaluation.evaluate(smallNet(), on: validation)
        let result = try trainer.fit(smallNet(), train: data, validation: validation)
        XCTAssertEqual(result.history.count, 6)
        XCTAssertLessThan(result.history.last!.loss, result.history.first!.loss)
        XCTAssertGreaterThan(result.history.last!.validationAccuracy!, 0.95)
        XCTAssertLessThan(before.accuracy, 0.6)
        XCTAssertNoThrow(try result.last.checkInvariants())
    }

    func testSameSeedAndThreads_giveBitIdenticalWeights() throws {
        let data = try quadrantData(count: 96, seed: 3)
        let config = TrainingConfiguration(epochs: 2, batchSize: 16, seed: 42)
        let a = try Trainer(configuration: config).fit(smallNet(), train: data).last
        let b = try Trainer(configuration: config).fit(smallNet(), train: data).last
        for (x, y) in zip(a.nodes, b.nodes) {
            XCTAssertEqual(x.layer.weights, y.layer.weights, x.name)
        }
        var other = config
        other.seed = 43
        let c = try Trainer(configuration: other).fit(smallNet(), train: data).last
        XCTAssertNotEqual(a.nodes[1].layer.weights, c.nodes[1].layer.weights)
    }

    func testResume_continuesExactlyWhereTheRunStopped() throws {
        let data = try quadrantData(count: 96, seed: 4)
        let validation = try quadrantData(count: 32, seed: 5)
        // A constant rate, so that two epochs are exactly the first half of four (a cosine
        // schedule depends on the total).
        let full = try Trainer(configuration: TrainingConfiguration(epochs: 4, batchSize: 16, schedule: .constant,
                                                                    optimizer: OptimizerSettings(kind: .adam)),
                               ).fit(smallNet(), train: data, validation: validation)
        var config = TrainingConfiguration(epochs: 2, batchSize: 16, schedule: .constant, optimizer: OptimizerSettings(kind: .adam))
        _ = try Trainer(configuration: config, checkpoints: CheckpointFolder(directory: folder, registry: .standard))
            .fit(smallNet(), train: data, validation: validation)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("last.surgeon").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("best.surgeon").path))
        config.epochs = 4
        let resumed = try Trainer(configuration: config, checkpoints: CheckpointFolder(directory: folder, registry: .standard))
            .fit(smallNet(seed: 99), train: data, validation: validation, resume: true)
        XCTAssertEqual(resumed.history.map(\.epoch), [1, 2, 3, 4])
        for (x, y) in zip(full.last.nodes, resumed.last.nodes) {
            XCTAssertEqual(x.layer.weights, y.layer.weights, x.name)
        }
    }

    func testResumeWithOtherSettings_isRefused() throws {
        let data = try quadrantData(count: 32, seed: 4)
        _ = try Trainer(configuration: TrainingConfiguration(epochs: 1, batchSize: 16), checkpoints: CheckpointFolder(directory: folder, registry: .standard))
            .fit(smallNet(), train: data)
        let other = Trainer(configuration: TrainingConfiguration(epochs: 2, batchSize: 8), checkpoints: CheckpointFolder(directory: folder, registry: .standard))
        XCTAssertThrowsError(try other.fit(smallNet(), train: data, resume: true)) { error in
            XCTAssertTrue("\(error)".contains("was written with other training settings"), "\(error)")
        }
    }

    func testNonFiniteLoss_stopsWithAClearErrorAndKeepsTheLastGoodCheckpoint() throws {
        let data = try quadrantData(count: 64, seed: 6)
        _ = try Trainer(configuration: TrainingConfiguration(epochs: 1, batchSize: 16), checkpoints: CheckpointFolder(directory: folder, registry: .standard))
            .fit(smallNet(), train: data)
        let lastURL = folder.appendingPathComponent("last.surgeon")
        let good = try Data(contentsOf: lastURL)
        var poisoned = data
        poisoned.images.scalars[5] = .nan
        let trainer = Trainer(configuration: TrainingConfiguration(epochs: 3, batchSize: 16), checkpoints: CheckpointFolder(directory: folder, registry: .standard))
        XCTAssertThrowsError(try trainer.fit(smallNet(), train: poisoned, resume: true)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("training stopped: the loss became nan at epoch 2, step"), text)
            XCTAssertTrue(text.hasSuffix("the last good checkpoint is \(lastURL.path)"), text)
        }
        XCTAssertEqual(try Data(contentsOf: lastURL), good)
    }

    func testRegularizerHook_addsPenaltyAndGradient() throws {
        let data = try quadrantData(count: 64, seed: 7)
        let config = TrainingConfiguration(epochs: 2, batchSize: 16, optimizer: OptimizerSettings(weightDecay: 0))
        let plain = try Trainer(configuration: config).fit(smallNet(), train: data)
        let shrunk = try Trainer(configuration: config, regularizers: [SquaredKernels(strength: 0.05)])
            .fit(smallNet(), train: data)
        func norm(_ g: Graph) -> Double { g.nodes[g.index(of: "conv")!].layer.weights[0].scalars.reduce(0) { $0 + Double($1 * $1) } }
        XCTAssertLessThan(norm(shrunk.last), norm(plain.last) * 0.9)
        XCTAssertGreaterThan(shrunk.history[0].penalty, 0)
        XCTAssertEqual(plain.history[0].penalty, 0)
        XCTAssertEqual(shrunk.history[0].regularizerReport["squared.kernels"], 1)
    }

    func testBatchNormMovingStatistics_followTheData() throws {
        var data = try quadrantData(count: 64, seed: 8)
        data.images = data.images.map { $0 * 3 + 2 }
        let result = try Trainer(configuration: TrainingConfiguration(epochs: 3, batchSize: 16))
            .fit(smallNet(), train: data)
        let bn = result.last.nodes[result.last.index(of: "bn")!].layer.weights
        XCTAssertNotEqual(bn[2], Tensor(shape: [6]))
        XCTAssertNotEqual(bn[3], Tensor(shape: [6], repeating: 1))
    }

    func testInvalidSettings_areRejectedBeforeTraining() throws {
        let data = try quadrantData(count: 8, seed: 1)
        let cases: [(TrainingConfiguration, String)] = [
            (TrainingConfiguration(epochs: 0), "epochs must be at least 1, got 0"),
            (TrainingConfiguration(batchSize: 0), "batch size must be at least 1, got 0"),
            (TrainingConfiguration(learningRate: -1), "the learning rate must be a positive number, got -1.0"),
            (TrainingConfiguration(epochs: 2, warmupEpochs: 3), "warm-up epochs must be between 0 and the number of epochs (2), got 3.0"),
        ]
        for (config, message) in cases {
            XCTAssertThrowsError(try Trainer(configuration: config).fit(smallNet(), train: data)) { error in
                XCTAssertEqual("\(error)", message)
            }
        }
    }

    func testLabelsBeyondTheClassifier_areRejected() throws {
        let data = try LabeledData(images: Tensor(shape: [4, 4, 4, 1]), labels: [0, 1, 2, 7])
        XCTAssertThrowsError(try Trainer().fit(smallNet(), train: data)) { error in
            XCTAssertEqual("\(error)", "label 7 is out of range for a model with 4 classes (0...3)")
        }
    }

    func testBatchSizes_foldASingleTrailingSample() {
        XCTAssertEqual(Trainer.batchSizes(samples: 10, batchSize: 4), [4, 4, 2])
        XCTAssertEqual(Trainer.batchSizes(samples: 9, batchSize: 4), [4, 5])
        XCTAssertEqual(Trainer.batchSizes(samples: 8, batchSize: 4), [4, 4])
        XCTAssertEqual(Trainer.batchSizes(samples: 3, batchSize: 64), [3])
    }
}
