import Foundation
import SurgeonCore
import SurgeonFormats
import XCTest

/// Every refused input: a clear message naming the file or value, a non-zero exit code, and no
/// output file left behind.
final class BadInputTests: CLITestCase {
    private func model(_ arch: String = "vgg", shape: String = "28,28,1") throws {
        let run = try surgeon(
            "new", arch, "--input-shape", shape, "--classes", "10", "--width", "0.25", "-o", "m.surgeon")
        XCTAssertEqual(run.status, 0, run.stderr)
    }

    func testMissingDataFile_namesItAndWritesNothing() throws {
        try model()
        try writeMNIST(0..<8, as: "d")
        let run = try surgeon("train", "m.surgeon", "--data", "nope.npy", "--labels", "d-y.npy", "-o", "out.surgeon")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("nope.npy") && run.stderr.contains("No such file"), run.stderr)
        XCTAssertFalse(exists("out.surgeon"))
    }

    func testTruncatedNpy_isReportedWithTheFileName() throws {
        try model()
        try writeMNIST(0..<8, as: "d")
        let data = try Data(contentsOf: URL(fileURLWithPath: path("d-x.npy")))
        try data.prefix(data.count - 100).write(to: URL(fileURLWithPath: path("cut.npy")))
        let run = try surgeon("eval", "m.surgeon", "--data", "cut.npy", "--labels", "d-y.npy")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("cut.npy") && run.stderr.contains("truncated"), run.stderr)
    }

    func testCorruptModel_isReportedAndTheFileIsUntouched() throws {
        try model()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path("m.surgeon")))
        bytes[bytes.count - 3] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path("bad.surgeon")))
        let run = try surgeon("inspect", "bad.surgeon")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("bad.surgeon is corrupt: checksum mismatch"), run.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("bad.surgeon"))), bytes)
    }

    func testDataOfAnotherShape_namesBothShapes() throws {
        try model(shape: "32,32,3")
        try writeMNIST(0..<8, as: "d")
        let run = try surgeon("eval", "m.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(
            run.stderr.contains(
                "the model takes samples of shape [32, 32, 3], but the data has samples of shape [28, 28, 1]"),
            run.stderr)
    }

    func testNaNLoss_stopsTrainingAndWritesNoModel() throws {
        try model()
        // Finite data so large that the first forward pass overflows: the loss, not the data, is NaN.
        let images = Tensor(shape: [16, 28, 28, 1], repeating: 3e38)
        try Npy.write(NpyArray(images), to: URL(fileURLWithPath: path("x.npy")))
        try writeLabels(16)
        let run = try surgeon(
            "train", "m.surgeon", "--data", "x.npy", "--labels", "y.npy", "--epochs", "1", "-o", "out.surgeon")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("training stopped: the loss became"), run.stderr)
        XCTAssertTrue(run.stderr.contains("at epoch 1, step 1"), run.stderr)
        XCTAssertFalse(exists("out.surgeon"))
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), ["m.surgeon", "x.npy", "y.npy"])
    }

    func testNaNData_isRefusedNamingTheFileAndElementBeforeTraining() throws {
        try model()
        var images = Tensor(shape: [16, 28, 28, 1], repeating: 0.5)
        images.scalars[100] = .nan
        try Npy.write(NpyArray(images), to: URL(fileURLWithPath: path("x.npy")))
        try writeLabels(16)
        let run = try surgeon(
            "train", "m.surgeon", "--data", "x.npy", "--labels", "y.npy", "--epochs", "1", "-o", "out.surgeon")
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("x.npy: element 100 is nan; the data must be finite numbers"), run.stderr)
        XCTAssertFalse(exists("out.surgeon"))
    }

    private func writeLabels(_ n: Int) throws {
        try Npy.write(
            NpyArray(shape: [n], storage: .int64((0..<n).map { Int64($0 % 10) })),
            to: URL(fileURLWithPath: path("y.npy")))
    }

    /// `SURGEON_MEMORY_LIMIT` lowers the budget as a small machine would have it: a pass whose
    /// activations do not fit is refused before it runs, naming the node.
    func testActivationsBeyondTheMemoryBudget_areRefusedNamingTheNode() throws {
        try model()
        try writeMNIST(0..<8, as: "d")
        for args in [
            ["eval", "m.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy"],
            ["train", "m.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy", "--epochs", "1", "-o", "out.surgeon"],
        ] {
            let run = try surgeon(args, environment: ["SURGEON_MEMORY_LIMIT": "64K"])
            XCTAssertEqual(run.status, 1, run.stderr)
            XCTAssertTrue(run.stderr.contains("node '"), run.stderr)
            XCTAssertTrue(run.stderr.contains("beyond the memory budget of 64.0 KiB"), run.stderr)
            XCTAssertTrue(run.stderr.contains("a smaller batch needs proportionally less"), run.stderr)
            XCTAssertFalse(exists("out.surgeon"))
        }
    }

    func testImagesBeyondTheMemoryBudget_areRefusedNamingTheFileBeforeConversion() throws {
        try model()
        try writeMNIST(0..<8, as: "d")
        let run = try surgeon(
            ["eval", "m.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy"],
            environment: ["SURGEON_MEMORY_LIMIT": "10K"])
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertTrue(
            run.stderr.contains(
                "d-x.npy: the 8 images of shape [28, 28, 1] as float32 would need 24.5 KiB, beyond the "
                    + "memory budget of 10.0 KiB"), run.stderr)
    }

    func testLabelsOutOfRange_areRefused() throws {
        try model()
        try Npy.write(NpyArray(Tensor(shape: [4, 28, 28, 1])), to: URL(fileURLWithPath: path("x.npy")))
        try Npy.write(NpyArray(shape: [4], storage: .int32([0, 1, 2, 12])), to: URL(fileURLWithPath: path("y.npy")))
        let run = try surgeon("eval", "m.surgeon", "--data", "x.npy", "--labels", "y.npy")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(
            run.stderr.contains("is 12, out of range for a model with 10 classes (expected an integer in 0...9)"),
            run.stderr)
    }

    /// A model whose stored normalisation is damaged is refused; its data are never read with
    /// [0, 1] scaling in its place.
    func testCorruptNormalizationMetadata_isAnInputErrorThatNamesTheModel() throws {
        try model()
        try writeMNIST(0..<8, as: "d")
        try rewriteModel("m.surgeon", as: "bad.surgeon", metadata: ["input_normalization": .string("bad")])
        let run = try surgeon("eval", "bad.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(
            run.stderr.contains(
                "bad.surgeon: the stored input normalisation (metadata 'input_normalization') is not {mean: [numbers], "
                    + "std: [numbers]}"
            ), run.stderr)
        XCTAssertEqual(run.stdout, "")
    }

    func testUsageErrors_exitWith64AndSayWhatIsAccepted() throws {
        var run = try surgeon("new", "alexnet", "--input-shape", "28,28,1", "--classes", "10", "-o", "m.surgeon")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(
            run.stderr.contains("unknown architecture 'alexnet'; choose one of: mobilenetv2, res, vgg, resnet50"),
            run.stderr)
        run = try surgeon("new", "vgg", "--input-shape", "28,28", "--classes", "10", "-o", "m.surgeon")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(
            run.stderr.contains("--input-shape takes three positive integers height,width,channels, got '28,28'"),
            run.stderr)
        run = try surgeon("new", "vgg", "--input-shape", "28,28,1", "--classes", "1", "-o", "m.surgeon")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("vgg: a classifier needs 2...1000000 classes, got 1"), run.stderr)
        XCTAssertFalse(exists("m.surgeon"))
        try model()
        run = try surgeon("plan", "m.surgeon", "--strategy", "l1", "--ratio", "0.5", "--data", "x.npy", "-o", "p.json")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("give both --data and --labels, or neither"), run.stderr)
        run = try surgeon(
            "train", "m.surgeon", "--data", "x.npy", "--labels", "y.npy", "--val-data", "v.npy", "-o", "o.surgeon")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("give both --val-data and --val-labels, or neither"), run.stderr)
        run = try surgeon("train", "m.surgeon", "--data", "x.npy", "--labels", "y.npy", "--lr=-1", "-o", "o.surgeon")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(
            run.stderr.contains("--lr: -1 is out of range (expected a finite number in 1e-12...1000)"), run.stderr)
        run = try surgeon(
            "train", "m.surgeon", "--data", "x.npy", "--labels", "y.npy", "--threads", "0", "-o", "o.surgeon")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("--threads: 0 is out of range (expected an integer in 1...1024)"), run.stderr)
    }

    func testEveryCommand_hasHelp() throws {
        for command in ["demo", "new", "train", "eval", "predict", "inspect"] {
            let run = try surgeon(command, "--help")
            XCTAssertEqual(run.status, 0, command)
            XCTAssertTrue(run.stdout.contains("USAGE: surgeon \(command)"), run.stdout)
        }
        let train = try surgeon("train", "--help")
        for option in [
            "--val-split", "--optimizer", "--schedule", "--warmup-epochs", "--seed", "--threads", "--checkpoint-dir",
            "--json",
        ] {
            XCTAssertTrue(train.stdout.contains(option), "train --help lacks \(option)")
        }
        let new = try surgeon("new", "--help")
        XCTAssertTrue(new.stdout.contains("mobilenetv2: inverted residual blocks"), new.stdout)
    }
}
