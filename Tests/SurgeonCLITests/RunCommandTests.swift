import Foundation
import SurgeonCore
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
        while !FileManager.default.fileExists(atPath: checkpoint), process.isRunning, Date() < deadline { usleep(20_000) }
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
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("runs/01-train/metrics.json")))) as? [String: Any]
        let epochs = (metrics?["history"] as? [[String: Any]] ?? []).compactMap { $0["epoch"] as? Int }
        XCTAssertEqual(epochs, Array(1...6))
        XCTAssertTrue(exists("runs/report.html") && exists("runs/metrics.json"))
    }

    func testBadRecipe_isRefusedBeforeAnyWork() throws {
        try Data("model: {architecture: vgg}\nstages:\n  - train: {epochs: 2}\n  - prune: {strategy: magic}\n".utf8)
            .write(to: URL(fileURLWithPath: path("bad.yaml")))
        let run = try surgeon("run", "bad.yaml", "-o", "runs")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("bad.yaml:4: unknown criterion 'magic'; supported: bn-gamma, norm, apoz, taylor, random, exec, l1, l2"), run.stderr)
        XCTAssertFalse(exists("runs"))
    }

    func testSensitivity_writesTheCurvesAndTheTable() throws {
        try writeMNIST(0..<64, as: "d")
        try surgeon("new", "vgg", "--input-shape", "28,28,1", "--classes", "10", "--width", "0.25", "-o", "m.surgeon")
        let run = try surgeon("sensitivity", "m.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy", "--ratios", "0.5", "-o", "sens", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        let curves = try json(run.stdout)["curves"] as? [[String: Any]] ?? []
        XCTAssertEqual(curves.count, 10, "stem, 8 blocks and head of vgg")
        XCTAssertTrue(try String(contentsOfFile: path("sens/sensitivity.svg"), encoding: .utf8).hasPrefix("<svg"))
        XCTAssertTrue(exists("sens/sensitivity.json"))
    }
}
