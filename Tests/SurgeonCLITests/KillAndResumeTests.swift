import Foundation
import SurgeonCore
import SurgeonPipeline
import XCTest

/// `kill -9` in the middle of `surgeon train --checkpoint-dir` and `surgeon run`, then resuming:
/// the final weights are bit for bit those of an uninterrupted run with the same seed and
/// threads. And a folder a run is using is refused to a second run at once (exit 75), while the
/// kernel releases it when the holder dies, so the resume takes it.
final class KillAndResumeTests: CLITestCase {
    /// Starts `surgeon args...` in the test folder without waiting for it.
    private func start(_ args: [String]) throws -> Process {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = args
        process.currentDirectoryURL = folder
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Polls until `done()` holds while `process` runs (at most two minutes, a bound for a stuck
    /// run, not a measurement); fails when the process ended first.
    private func wait(
        for what: String, of process: Process, file: StaticString = #filePath, line: UInt = #line,
        until done: () -> Bool
    ) {
        let deadline = Date().addingTimeInterval(120)
        while !done(), process.isRunning, Date() < deadline { usleep(10_000) }
        XCTAssertTrue(done(), "never saw \(what)", file: file, line: line)
        XCTAssertTrue(process.isRunning, "the run ended before \(what) could be interrupted", file: file, line: line)
    }

    private func killHard(_ process: Process, file: StaticString = #filePath, line: UInt = #line) {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, file: file, line: line)
    }

    /// Every weight of every layer, as bit patterns, with the layer's name and the weight's shape.
    private func weights(_ name: String) throws -> [String] {
        let graph = try Registries.standard.loadModel(path(name)).graph
        return graph.nodes.flatMap { node in
            node.layer.weights.enumerated().map { k, w in
                "\(node.name)/\(k) \(w.shape): "
                    + w.scalars.map { String($0.bitPattern, radix: 16) }.joined(separator: ",")
            }
        }
    }

    private func assertSameWeights(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws
    {
        let x = try weights(a), y = try weights(b)
        XCTAssertFalse(x.isEmpty, file: file, line: line)
        XCTAssertEqual(x.count, y.count, "\(a) and \(b) hold different weights", file: file, line: line)
        for (u, v) in zip(x, y) where u != v {
            XCTFail("\(a) and \(b) differ at \(u.prefix { $0 != ":" })", file: file, line: line)
            return
        }
    }

    /// The training history stored with a model, without the wall-clock seconds.
    private func history(_ name: String) throws -> [EpochMetrics] {
        let value = try XCTUnwrap(Registries.standard.loadModel(path(name)).metadata["training_history"])
        return try value.decode(as: [EpochMetrics].self).map {
            var m = $0
            m.seconds = 0
            return m
        }
    }

    private func trainArguments() throws -> [String] {
        try writeMNIST(0..<128, as: "d")
        let run = try surgeon(
            "new", "vgg", "--input-shape", "28,28,1", "--classes", "10", "--width", "0.25", "-o", "m.surgeon")
        XCTAssertEqual(run.status, 0, run.stderr)
        return [
            "train", "m.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy", "--val-split", "0.25", "--batch-size",
            "32", "--seed", "7", "--threads", "1",
        ]
    }

    func testTrainKilledAfterACheckpoint_resumesToBitIdenticalWeights() throws {
        let common = try trainArguments() + ["--epochs", "4"]
        var run = try surgeon(common + ["--checkpoint-dir", "full", "-o", "full.surgeon"])
        XCTAssertEqual(run.status, 0, run.stderr)

        let process = try start(common + ["--checkpoint-dir", "ckpt", "-o", "killed.surgeon"])
        wait(for: "the first checkpoint", of: process) { exists("ckpt/last.surgeon") }
        killHard(process)
        XCTAssertFalse(exists("killed.surgeon"))

        run = try surgeon(common + ["--checkpoint-dir", "ckpt", "--resume", "-o", "resumed.surgeon"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let epochs = run.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("epoch ") }
        XCTAssertFalse(epochs.first?.hasPrefix("epoch 1:") ?? true, "the resumed run started over: \(run.stderr)")
        try assertSameWeights("full.surgeon", "resumed.surgeon")
        XCTAssertEqual(try history("resumed.surgeon"), try history("full.surgeon"))
    }

    func testSecondTrainOnACheckpointFolderInUse_isRefusedNamingTheFolderAndThePID() throws {
        let common = try trainArguments()
        let process = try start(common + ["--epochs", "200", "--checkpoint-dir", "ckpt", "-o", "first.surgeon"])
        defer { if process.isRunning { killHard(process) } }
        let pid = process.processIdentifier
        wait(for: "the lock", of: process) {
            (try? String(contentsOfFile: path("ckpt/.surgeon.lock"), encoding: .utf8)) == "\(pid)\n"
        }

        var run = try surgeon(common + ["--epochs", "1", "--checkpoint-dir", "ckpt", "-o", "second.surgeon"])
        XCTAssertEqual(run.status, 75, run.stderr)
        XCTAssertTrue(run.stderr.contains("\(folder.lastPathComponent)/ckpt: the checkpoint folder"), run.stderr)
        XCTAssertTrue(run.stderr.contains("is in use by another surgeon run (process \(pid)"), run.stderr)
        XCTAssertFalse(run.stderr.contains("epoch "), "the refused run trained: \(run.stderr)")
        XCTAssertFalse(exists("second.surgeon"))
        XCTAssertTrue(process.isRunning, "the first run goes on")

        // The kernel drops the lock with the killed process: the folder is free again.
        killHard(process)
        run = try surgeon(common + ["--epochs", "1", "--checkpoint-dir", "ckpt", "-o", "second.surgeon"])
        XCTAssertEqual(run.status, 0, run.stderr)
    }

    func testRunKilledDuringTwoStages_finishesWithBitIdenticalModels() throws {
        try writeMNIST(0..<192, as: "d")
        let yaml = """
            model: {architecture: vgg, input_shape: [28, 28, 1], classes: 10, width: 0.25}
            data: {images: d-x.npy, labels: d-y.npy, train: [0, 128], validation: [128, 192]}
            seed: 5
            stages:
              - train: {epochs: 3, batch_size: 32}
              - prune: {strategy: l1, ratio: 0.25}
              - retrain: {epochs: 2, batch_size: 32, lr: 0.01}
            """
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: path("recipe.yaml")))
        let args = ["run", "recipe.yaml", "--threads", "1"]
        var run = try surgeon(args + ["-o", "full"])
        XCTAssertEqual(run.status, 0, run.stderr)

        // Killed in the training stage, after its first epoch; meanwhile a second run is refused.
        var process = try start(args + ["-o", "runs"])
        wait(for: "the training stage's first checkpoint", of: process) { exists("runs/01-train/last.surgeon") }
        run = try surgeon(args + ["-o", "runs"])
        XCTAssertEqual(run.status, 75, run.stderr)
        XCTAssertTrue(
            run.stderr.contains(
                "\(folder.lastPathComponent)/runs: the run folder is in use by another surgeon run (process "
                    + "\(process.processIdentifier)"), run.stderr)
        XCTAssertFalse(run.stderr.contains("== stage"), "the refused run started a stage: \(run.stderr)")
        killHard(process)

        // Resumed, then killed again in the retraining stage, after its first epoch.
        process = try start(args + ["-o", "runs"])
        wait(for: "the retraining stage's first checkpoint", of: process) { exists("runs/03-retrain/last.surgeon") }
        killHard(process)
        XCTAssertFalse(exists("runs/metrics.json"), "the killed run must not look finished")

        run = try surgeon(args + ["-o", "runs", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertFalse(run.stderr.contains("== stage 1/3"), "stage 1 was finished before: \(run.stderr)")
        for stage in ["01-train", "02-prune", "03-retrain"] {
            try assertSameWeights("full/\(stage)/model.surgeon", "runs/\(stage)/model.surgeon")
        }
        let figures = { (name: String) throws -> [[Double]] in
            let data = try Data(contentsOf: URL(fileURLWithPath: self.path("\(name)/metrics.json")))
            let stages = try JSONDecoder().decode([StageResult].self, from: data)
            return stages.map { [$0.accuracy, $0.loss, Double($0.params), Double($0.macs)] }
        }
        XCTAssertEqual(try figures("runs"), try figures("full"))
    }
}
