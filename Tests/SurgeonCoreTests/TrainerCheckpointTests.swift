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
            .fit(smallNet(), train: data, validation: validation, resume: true)
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
        // Weights blown up in the checkpoint (not the data: resuming refuses other data), so that
        // the resumed epoch's loss is not finite.
        var last = try XCTUnwrap(store.load("last"))
        for i in last.graph.nodes.indices where !last.graph.nodes[i].layer.weights.isEmpty {
            let blown = last.graph.nodes[i].layer.weights.map { w in
                Tensor(uncheckedShape: w.shape, scalars: w.scalars.map { $0 * 1e30 + 1e30 })
            }
            try last.graph.setWeights(blown, ofNode: i)
        }
        store.put(last, as: "last")
        let good = try XCTUnwrap(store.load("last"))
        let savesBefore = store.saves.count
        let poisoned = data
        let trainer = Trainer(configuration: TrainingConfiguration(epochs: 3, batchSize: 16), checkpoints: store)
        XCTAssertThrowsError(try trainer.fit(smallNet(), train: poisoned, resume: true)) { error in
            let text = "\(error)"
            XCTAssertTrue(
                text.hasPrefix("training stopped: the loss became") && text.contains("nan at epoch 2, step"), text)
            XCTAssertTrue(text.hasSuffix("the last good checkpoint is memory:last"), text)
        }
        XCTAssertEqual(store.saves.count, savesBefore, "nothing is saved after the loss became nan")
        XCTAssertEqual(weights(try store.load("last")), weights(good))
        XCTAssertEqual(try store.load("last")?.metadata, good.metadata)
    }
}

extension TrainerCheckpointTests {
    /// A crafted checkpoint whose optimizer slot is smaller than its weight used to make the
    /// optimizer step write past the slot's buffer; now it is refused, naming the slot and shapes.
    func testOptimizerSlotOfTheWrongShape_isRefusedBeforeAnyStep() throws {
        let data = try quadrantData(count: 32, seed: 3)
        let config = TrainingConfiguration(epochs: 1, batchSize: 16)
        let store = MemoryCheckpoints()
        _ = try Trainer(configuration: config, checkpoints: store).fit(smallNet(), train: data)
        var last = try XCTUnwrap(store.load("last"))
        let k = try XCTUnwrap(last.extraTensors.firstIndex { $0.tensor.count > 1 })
        let name = last.extraTensors[k].name
        last.extraTensors[k].tensor = Tensor(shape: [1])
        store.put(last, as: "last")
        var resumed = config
        resumed.epochs = 2
        XCTAssertThrowsError(
            try Trainer(configuration: resumed, checkpoints: store).fit(smallNet(), train: data, resume: true)
        ) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("optimizer slot '\(name)'") && text.contains("has shape [1]"), text)
        }
    }

    /// A checkpoint's training progress comes from outside: an epoch, an optimizer step or a best
    /// score out of range is refused naming the key, the value and what was expected.
    func testDamagedTrainingProgress_isRefusedNamingTheKeyAndTheValue() throws {
        let data = try quadrantData(count: 32, seed: 3)
        let config = TrainingConfiguration(epochs: 1, batchSize: 16)
        let store = MemoryCheckpoints()
        _ = try Trainer(configuration: config, checkpoints: store).fit(smallNet(), train: data)
        let last = try XCTUnwrap(store.load("last"))
        guard case let .object(progress)? = last.metadata["training_progress"] else {
            return XCTFail("no training progress in \(last.metadata)")
        }
        let cases: [(String, ConfigValue, String)] = [
            ("epoch", -1, "training_progress.epoch: -1 is out of range (expected an integer in 0...100000)"),
            ("epoch", 2_000_000, "training_progress.epoch: 2000000 is out of range"),
            ("optimizerStep", -4, "training_progress.optimizerStep: -4 is out of range"),
            ("bestScore", 7, "training_progress.bestScore: 7 is out of range (expected a finite number in 0...1)"),
        ]
        for (key, value, expected) in cases {
            var damaged = last
            damaged.metadata["training_progress"] = .object(progress.merging([key: value]) { _, new in new })
            store.put(damaged, as: "last")
            XCTAssertThrowsError(
                try Trainer(configuration: config, checkpoints: store).fit(smallNet(), train: data, resume: true)
            ) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("memory:last: the training progress is damaged: "), text)
                XCTAssertTrue(text.contains(expected), "\(key) = \(value): \(text)")
            }
        }
    }
}
