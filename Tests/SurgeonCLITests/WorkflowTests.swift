import Foundation
import SurgeonCore
import SurgeonFormats
import XCTest

final class WorkflowTests: CLITestCase {
    func testNewInspectTrainEvalPredict_onBundledData() throws {
        try writeMNIST(0..<256, as: "train")
        try writeMNIST(4000..<4128, as: "val")
        var run = try surgeon(
            "new", "vgg", "--input-shape", "28,28,1", "--classes", "10", "--width", "0.25", "-o", "vgg.surgeon")
        XCTAssertEqual(run.status, 0, run.stderr)

        run = try surgeon("inspect", "vgg.surgeon", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        let summary = try json(run.stdout)
        XCTAssertGreaterThan(summary["params"] as? Int ?? 0, 1000)
        XCTAssertGreaterThan(summary["macs"] as? Int ?? 0, 100_000)
        XCTAssertEqual((summary["layers"] as? [[String: Any]])?.first?["type"] as? String, "InputLayer")

        run = try surgeon(
            "train", "vgg.surgeon", "--data", "train-x.npy", "--labels", "train-y.npy",
            "--val-data", "val-x.npy", "--val-labels", "val-y.npy", "--epochs", "3", "--batch-size", "16",
            "--threads", "2", "--checkpoint-dir", "ckpt", "-o", "trained.surgeon", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        let report = try json(run.stdout)
        let epochs = report["epochs"] as? [[String: Any]] ?? []
        XCTAssertEqual(epochs.count, 3)
        XCTAssertNotNil(epochs.last?["validationAccuracy"] as? Double)
        XCTAssertTrue(exists("trained.surgeon") && exists("ckpt/best.surgeon") && exists("ckpt/last.surgeon"))
        // Not a terminal: one line per epoch on standard error.
        XCTAssertEqual(run.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("epoch ") }.count, 3, run.stderr)

        run = try surgeon("eval", "trained.surgeon", "--data", "val-x.npy", "--labels", "val-y.npy", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        let eval = try json(run.stdout)
        XCTAssertEqual(eval["samples"] as? Int, 128)
        XCTAssertGreaterThan(eval["accuracy"] as? Double ?? 0, 0.2)  // chance is 0.1
        XCTAssertNotNil(eval["loss"] as? Double)
        XCTAssertEqual(eval["accuracy"] as? Double, epochs.last?["validationAccuracy"] as? Double)

        run = try surgeon("predict", "trained.surgeon", "--data", "val-x.npy", "-o", "out.npy")
        XCTAssertEqual(run.status, 0, run.stderr)
        let out = try Npy.read(contentsOf: folder.appendingPathComponent("out.npy"))
        XCTAssertEqual(out.shape, [128, 10])
        XCTAssertEqual(out.dtype, .float32)
        let probabilities = out.floatTensor().scalars
        XCTAssertEqual(probabilities[0..<10].reduce(0, +), 1, accuracy: 1e-4)

        run = try surgeon("inspect", "trained.surgeon")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("stem_conv") && run.stdout.contains("total:"), run.stdout)
    }

    func testTrainResume_continuesFromTheLastCheckpoint() throws {
        try writeMNIST(0..<96, as: "train")
        try surgeon("new", "vgg", "--input-shape", "28,28,1", "--classes", "10", "--width", "0.25", "-o", "m.surgeon")
        let common = [
            "train", "m.surgeon", "--data", "train-x.npy", "--labels", "train-y.npy", "--batch-size", "32",
            "--schedule", "constant", "--checkpoint-dir", "ckpt", "--json",
        ]
        var run = try surgeon(common + ["--epochs", "1", "-o", "one.surgeon"])
        XCTAssertEqual(run.status, 0, run.stderr)
        run = try surgeon(common + ["--epochs", "2", "--resume", "-o", "two.surgeon"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let epochs = (try json(run.stdout)["epochs"] as? [[String: Any]] ?? []).compactMap { $0["epoch"] as? Int }
        XCTAssertEqual(epochs, [1, 2])
        // Only the second epoch ran in the resumed process.
        let lines = run.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("epoch ") }
        XCTAssertEqual(lines.count, 1, run.stderr)
        XCTAssertTrue(lines.first?.hasPrefix("epoch 2:") ?? false, run.stderr)
    }
}
