import Foundation
import SurgeonCLI
import SurgeonCore
import SurgeonPipeline
import XCTest

final class RunCommandTests: CLITestCase {
    private func writeRecipe(epochs: Int = 6) throws {
        try writeMNIST(0..<192, as: "d")
        let yaml = """
            model: {architecture: vgg, input_shape: [28, 28, 1], classes: 10, width: 0.25}
            data: {images: d-x.npy, labels: d-y.npy, train: [0, 128], validation: [128, 192]}
            stages:
              - train: {epochs: \(epochs), batch_size: 32}
              - prune: {strategy: l1, ratio: 0.25}
              - retrain: {epochs: 1, batch_size: 32, lr: 0.01}
            """
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: path("recipe.yaml")))
    }

    func testKilledMidStage_resumesAndCompletes() throws {
        try writeRecipe()
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["run", "recipe.yaml", "-o", "runs", "--threads", "1"]
        process.currentDirectoryURL = folder
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait for the first epoch's checkpoint of the training stage, then kill -9.
        let checkpoint = path("runs/01-train/last.surgeon")
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: checkpoint), process.isRunning, Date() < deadline {
            usleep(20_000)
        }
        XCTAssertTrue(process.isRunning, "the run ended before it could be interrupted")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertFalse(exists("runs/metrics.json"), "the killed run must not look finished")

        let run = try surgeon("run", "recipe.yaml", "-o", "runs", "--threads", "1", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        // The resumed process did not start the training stage over.
        let lines = run.stderr.components(separatedBy: "\n")
        let first = lines.firstIndex { $0.hasPrefix("== stage 1/3") }.map { lines[$0 + 1] } ?? ""
        XCTAssertTrue(first.hasPrefix("epoch ") && !first.hasPrefix("epoch 1:"), run.stderr)
        let stages = try json(run.stdout)["stages"] as? [[String: Any]] ?? []
        XCTAssertEqual(stages.compactMap { $0["stage"] as? String }, ["baseline", "pruned", "retrained"])
        let metrics =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: path("runs/01-train/metrics.json")))) as? [String: Any]
        let epochs = (metrics?["history"] as? [[String: Any]] ?? []).compactMap { $0["epoch"] as? Int }
        XCTAssertEqual(epochs, Array(1...6))
        XCTAssertTrue(exists("runs/report.html") && exists("runs/metrics.json"))
    }

    /// A recipe that starts from a model trained with `--mean/--std` reads its data with that
    /// normalisation: its eval stage measures what `surgeon eval` measures on the same samples,
    /// and the model it exports keeps the normalisation.
    func testRecipeFromAModelTrainedWithMeanAndStd_evaluatesAsEvalDoes() throws {
        try writeMNIST(0..<96, as: "d")
        try writeMNIST(64..<96, as: "val")
        try surgeon("new", "vgg", "--input-shape", "28,28,1", "--classes", "10", "--width", "0.25", "-o", "m.surgeon")
        var run = try surgeon(
            "train", "m.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy", "--mean", "0.5", "--std", "0.25",
            "--epochs", "3", "--batch-size", "16", "-o", "trained.surgeon")
        XCTAssertEqual(run.status, 0, run.stderr)
        let yaml = """
            model: {file: trained.surgeon}
            data: {images: d-x.npy, labels: d-y.npy, train: [0, 64], validation: [64, 96]}
            stages:
              - eval: {}
              - export: {path: final.surgeon}
            """
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: path("recipe.yaml")))
        run = try surgeon("run", "recipe.yaml", "-o", "runs", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        let stages = try json(run.stdout)["stages"] as? [[String: Any]] ?? []
        let stage = try XCTUnwrap(stages.first { $0["stage"] as? String == "eval" }, run.stdout)
        run = try surgeon("eval", "trained.surgeon", "--data", "val-x.npy", "--labels", "val-y.npy", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        let eval = try json(run.stdout)
        XCTAssertEqual(stage["accuracy"] as? Double, try XCTUnwrap(eval["accuracy"] as? Double))
        XCTAssertEqual(try XCTUnwrap(stage["loss"] as? Double), try XCTUnwrap(eval["loss"] as? Double), accuracy: 1e-9)
        let exported = try Registries.standard.loadModel(path("runs/final.surgeon"))
        let stored = try exported.metadata["input_normalization"]?.decode(as: InputNormalization.self)
        XCTAssertEqual(stored, InputNormalization(mean: [0.5], std: [0.25]))
    }

    func testBadRecipe_isRefusedBeforeAnyWork() throws {
        try Data("model: {architecture: vgg}\nstages:\n  - train: {epochs: 2}\n  - prune: {strategy: magic}\n".utf8)
            .write(to: URL(fileURLWithPath: path("bad.yaml")))
        let run = try surgeon("run", "bad.yaml", "-o", "runs")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(
            run.stderr.contains(
                "bad.yaml:4: unknown criterion 'magic'; supported: bn-gamma, norm, apoz, taylor, random, exec, l1, l2"),
            run.stderr)
        XCTAssertFalse(exists("runs"))
    }

    func testSensitivity_writesTheCurvesAndTheTable() throws {
        try writeMNIST(0..<64, as: "d")
        try surgeon("new", "vgg", "--input-shape", "28,28,1", "--classes", "10", "--width", "0.25", "-o", "m.surgeon")
        let run = try surgeon(
            "sensitivity", "m.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy", "--ratios", "0.5", "-o", "sens",
            "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        let curves = try json(run.stdout)["curves"] as? [[String: Any]] ?? []
        XCTAssertEqual(curves.count, 10, "stem, 8 blocks and head of vgg")
        XCTAssertTrue(try String(contentsOfFile: path("sens/sensitivity.svg"), encoding: .utf8).hasPrefix("<svg"))
        XCTAssertTrue(exists("sens/sensitivity.json"))
    }
}
