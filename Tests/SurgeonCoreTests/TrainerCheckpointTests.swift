import SurgeonCore
import SurgeonCoreTestSupport
import XCTest

/// Checkpoints and resume, against an in-memory `CheckpointStore`: the trainer decides what a
/// checkpoint holds and when it is written; the store only keeps it.
final class TrainerCheckpointTests: XCTestCase {
    override func setUp() {
        Compute.setThreads(2)
    }

    private func weights(_ contents: ModelContents?) -> [[Tensor]] { contents?.graph.nodes.map(\.layer.weights) ?? [] }

    func testEveryEpoch_savesTheLastCheckpointAndABetterBestOne() throws {
        let data = try quadrantData(count: 64, seed: 4)
        let store = MemoryCheckpoints()
        let result = try Trainer(
            configuration: TrainingConfiguration(epochs: 3, batchSize: 16), checkpoints: store,
            metadata: ["note": "kept"]
        )
        .fit(smallNet(), train: data)
        XCTAssertEqual(store.saves.filter { $0 == "last" }.count, 3)
        XCTAssertEqual(store.saves.first, "best")
        XCTAssertEqual(weights(try store.load("last")), weights(ModelContents(graph: result.last)))
        XCTAssertEqual(weights(try store.load("best")), weights(ModelContents(graph: result.best)))
        XCTAssertEqual(try store.load("best")?.metadata["note"], "kept")
        XCTAssertFalse(
            try XCTUnwrap(store.load("last")).extraTensors.isEmpty, "the last checkpoint holds the optimizer slots")
    }

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
        let store = MemoryCheckpoints()
        _ = try Trainer(configuration: config, checkpoints: store).fit(smallNet(), train: data, validation: validation)
        XCTAssertNotNil(try store.load("last"))
        XCTAssertNotNil(try store.load("best"))
        config.epochs = 4
        let resumed = try Trainer(configuration: config, checkpoints: store)
            .fit(smallNet(seed: 99), train: data, validation: validation, resume: true)
        XCTAssertEqual(resumed.history.map(\.epoch), [1, 2, 3, 4])
        for (x, y) in zip(full.last.nodes, resumed.last.nodes) {
            XCTAssertEqual(x.layer.weights, y.layer.weights, x.name)
        }
    }

    func testResumeWithoutACheckpoint_startsFromTheGivenModel() throws {
        let data = try quadrantData(count: 32, seed: 4)
        let config = TrainingConfiguration(epochs: 1, batchSize: 16)
        let fresh = try Trainer(configuration: config).fit(smallNet(), train: data)
        let resumed = try Trainer(configuration: config, checkpoints: MemoryCheckpoints()).fit(
            smallNet(), train: data, resume: true)
        XCTAssertEqual(weights(ModelContents(graph: resumed.last)), weights(ModelContents(graph: fresh.last)))
    }

    func testResumeWithOtherSettings_isRefused() throws {
        let data = try quadrantData(count: 32, seed: 4)
        let store = MemoryCheckpoints()
        _ = try Trainer(configuration: TrainingConfiguration(epochs: 1, batchSize: 16), checkpoints: store).fit(
            smallNet(), train: data)
        let other = Trainer(configuration: TrainingConfiguration(epochs: 2, batchSize: 8), checkpoints: store)
        assertThrows(
            try other.fit(smallNet(), train: data, resume: true),
            "memory:last was written with other training settings; resume with the same settings "
                + "(only --epochs may change) or start a new run folder")
    }

    func testCheckpointWithoutTrainingProgress_isRefusedNamingItsLocation() throws {
        let data = try quadrantData(count: 32, seed: 4)
        let store = MemoryCheckpoints()
        store.put(ModelContents(graph: try smallNet()), as: "last")
        let trainer = Trainer(configuration: TrainingConfiguration(epochs: 1, batchSize: 16), checkpoints: store)
        XCTAssertThrowsError(try trainer.fit(smallNet(), train: data, resume: true)) { error in
            XCTAssertTrue("\(error)".hasPrefix("memory:last holds no training progress"), "\(error)")
        }
    }

    func testNonFiniteLoss_stopsWithAClearErrorAndKeepsTheLastGoodCheckpoint() throws {
        let data = try quadrantData(count: 64, seed: 6)
        let store = MemoryCheckpoints()
        _ = try Trainer(configuration: TrainingConfiguration(epochs: 1, batchSize: 16), checkpoints: store).fit(
            smallNet(), train: data)
        let good = try XCTUnwrap(store.load("last"))
        let savesBefore = store.saves.count
        var poisoned = data
        poisoned.images.scalars[5] = .nan
        let trainer = Trainer(configuration: TrainingConfiguration(epochs: 3, batchSize: 16), checkpoints: store)
        XCTAssertThrowsError(try trainer.fit(smallNet(), train: poisoned, resume: true)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("training stopped: the loss became nan at epoch 2, step"), text)
            XCTAssertTrue(text.hasSuffix("the last good checkpoint is memory:last"), text)
        }
        XCTAssertEqual(store.saves.count, savesBefore, "nothing is saved after the loss became nan")
        XCTAssertEqual(weights(try store.load("last")), weights(good))
        XCTAssertEqual(try store.load("last")?.metadata, good.metadata)
    }
}
