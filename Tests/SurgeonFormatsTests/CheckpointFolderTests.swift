import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonTestSupport
import XCTest

/// The trainer's checkpoints as native files (`CheckpointFolder`): what lands on disk, and
/// resuming from it (moved here from SurgeonCoreTests, which tests the trainer's checkpoint
/// logic against an in-memory store).
final class CheckpointFolderTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        Compute.setThreads(2)
        folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "surgeon-checkpoints-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private var store: CheckpointFolder { CheckpointFolder(directory: folder, registry: .standard) }

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

    // MARK: - The store

    func testSave_writesNamedNativeFilesThatLoadBack() throws {
        let graph = try smallNet()
        try store.save(
            ModelContents(graph: graph, metadata: ["epoch": 3], extraTensors: [("slot", Tensor(shape: [2]))]),
            as: "last")
        let path = folder.appendingPathComponent("last.surgeon").path
        XCTAssertEqual(store.location(of: "last"), path)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["last.surgeon"])
        let loaded = try XCTUnwrap(try store.load("last"))
        XCTAssertEqual(loaded.graph.nodes.map(\.layer.weights), graph.nodes.map(\.layer.weights))
        XCTAssertEqual(loaded.metadata["epoch"], 3)
        XCTAssertEqual(loaded.extraTensors.map(\.name), ["slot"])
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: path)),
            try ModelFile.encode(
                ModelContents(
                    graph: graph, metadata: ["epoch": 3], extraTensors: [("slot", Tensor(shape: [2]))])))
    }

    func testLoadingAMissingCheckpoint_givesNil() throws {
        XCTAssertNil(try store.load("best"))
    }

    func testLoadingWithoutTheLayerTypes_namesTheFileAndTheType() throws {
        try store.save(ModelContents(graph: smallNet()), as: "best")
        var registry = LayerRegistry()
        try registry.register(InputLayer.self)
        let path = folder.appendingPathComponent("best.surgeon").path
        XCTAssertThrowsError(try CheckpointFolder(directory: folder, registry: registry).load("best")) { error in
            XCTAssertEqual("\(error)", "\(path): node 'conv': unknown layer type 'Conv2D'; supported: InputLayer")
        }
    }

    func testSavingIntoAMissingFolder_failsAndLeavesNoFile() throws {
        let missing = folder.appendingPathComponent("no/such")
        let contents = ModelContents(graph: try smallNet())
        XCTAssertThrowsError(try CheckpointFolder(directory: missing, registry: .standard).save(contents, as: "last"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing.path))
    }

    // MARK: - Training with it

    func testResume_continuesExactlyWhereTheRunStopped() throws {
        let data = try quadrantData(count: 96, seed: 4)
        let validation = try quadrantData(count: 32, seed: 5)
        // A constant rate, so that two epochs are exactly the first half of four (a cosine
        // schedule depends on the total).
        let full = try Trainer(
            configuration: TrainingConfiguration(
                epochs: 4, batchSize: 16, schedule: .constant,
                optimizer: OptimizerSettings(kind: .adam))
        )
        .fit(smallNet(), train: data, validation: validation)
        var config = TrainingConfiguration(
            epochs: 2, batchSize: 16, schedule: .constant, optimizer: OptimizerSettings(kind: .adam))
        _ = try Trainer(configuration: config, checkpoints: store)
            .fit(smallNet(), train: data, validation: validation)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("last.surgeon").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("best.surgeon").path))
        config.epochs = 4
        let resumed = try Trainer(configuration: config, checkpoints: store)
            .fit(smallNet(), train: data, validation: validation, resume: true)
        XCTAssertEqual(resumed.history.map(\.epoch), [1, 2, 3, 4])
        for (x, y) in zip(full.last.nodes, resumed.last.nodes) {
            XCTAssertEqual(x.layer.weights, y.layer.weights, x.name)
        }
    }

    func testResumeWithAnotherModelOrData_isRefusedNamingWhatDiffers() throws {
        let data = try quadrantData(count: 32, seed: 4)
        let config = TrainingConfiguration(epochs: 1, batchSize: 16)
        _ = try Trainer(configuration: config, checkpoints: store).fit(smallNet(), train: data)
        let other = try quadrantData(count: 32, seed: 5)
        XCTAssertThrowsError(
            try Trainer(configuration: config, checkpoints: store).fit(smallNet(seed: 99), train: other, resume: true)
        ) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("belongs to another run: the model"), text)
            XCTAssertTrue(text.contains("the training data (32 samples now, 32 in the run)"), text)
        }
    }

    /// A run distilled from one teacher does not resume with another teacher, or with none.
    func testResumeWithAnotherTeacher_isRefusedNamingIt() throws {
        let data = try quadrantData(count: 32, seed: 4)
        var config = TrainingConfiguration(epochs: 1, batchSize: 16)
        let teacher = try Distillation(teacher: smallNet(seed: 3))
        _ = try Trainer(configuration: config, checkpoints: store, distillation: teacher).fit(smallNet(), train: data)
        config.epochs = 2
        for other in [try Distillation(teacher: smallNet(seed: 4)), nil] {
            XCTAssertThrowsError(
                try Trainer(configuration: config, checkpoints: store, distillation: other)
                    .fit(smallNet(), train: data, resume: true)
            ) { XCTAssertTrue("\($0)".contains("the distillation teacher"), "\($0)") }
        }
        let resumed = try Trainer(configuration: config, checkpoints: store, distillation: teacher)
            .fit(smallNet(), train: data, resume: true)
        XCTAssertEqual(resumed.history.map(\.epoch), [1, 2])
    }

    func testNonFiniteLoss_stopsWithAClearErrorAndKeepsTheLastGoodCheckpoint() throws {
        let data = try quadrantData(count: 64, seed: 6)
        _ = try Trainer(configuration: TrainingConfiguration(epochs: 1, batchSize: 16), checkpoints: store)
            .fit(smallNet(), train: data)
        let lastURL = folder.appendingPathComponent("last.surgeon")
        // Weights blown up in the checkpoint (not the data: resuming refuses other data), so that
        // the resumed epoch's loss is not finite.
        var last = try XCTUnwrap(try store.load("last"))
        for i in last.graph.nodes.indices where !last.graph.nodes[i].layer.weights.isEmpty {
            let blown = last.graph.nodes[i].layer.weights.map { w in
                Tensor(uncheckedShape: w.shape, scalars: w.scalars.map { $0 * 1e30 + 1e30 })
            }
            try last.graph.setWeights(blown, ofNode: i)
        }
        try store.save(last, as: "last")
        let good = try Data(contentsOf: lastURL)
        let poisoned = data
        let trainer = Trainer(configuration: TrainingConfiguration(epochs: 3, batchSize: 16), checkpoints: store)
        XCTAssertThrowsError(try trainer.fit(smallNet(), train: poisoned, resume: true)) { error in
            let text = "\(error)"
            XCTAssertTrue(
                text.hasPrefix("training stopped: the loss became") && text.contains("nan at epoch 2, step"), text)
            XCTAssertTrue(text.hasSuffix("the last good checkpoint is \(lastURL.path)"), text)
        }
        XCTAssertEqual(try Data(contentsOf: lastURL), good)
    }
}
