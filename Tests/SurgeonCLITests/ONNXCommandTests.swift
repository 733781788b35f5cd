import Foundation
import SurgeonCore
import SurgeonFormats
import XCTest

/// Every command that takes a model takes `.onnx` with data in the model's own layout (NCHW for
/// a torch export); `-o` and `convert` write `.onnx`. Uses the torch fixtures of
/// SurgeonONNXTests (legacy_shuffle: ShuffleNetV2's chunk and channel shuffle).
final class ONNXCommandTests: CLITestCase {
    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SurgeonONNXTests/Fixtures/onnx/\(name)").path
    }

    /// NCHW images [count, 3, 16, 16] and labels of ten classes, as x.npy and y.npy.
    private func writeNCHWData(count: Int) throws {
        var x = Tensor(shape: [count, 3, 16, 16])
        var random = SeededRandom(seed: 5)
        for i in 0..<x.count { x.scalars[i] = random.nextUnitFloat() }
        try Npy.write(NpyArray(x), to: URL(fileURLWithPath: path("x.npy")))
        try Npy.write(
            try NpyArray(shape: [count], storage: .int64((0..<count).map { Int64($0 % 10) })),
            to: URL(fileURLWithPath: path("y.npy")))
    }

    func testEveryModelCommand_readsAShuffleNetExport() throws {
        let model = Self.fixture("legacy_shuffle.onnx")
        try writeNCHWData(count: 16)
        let data = ["--data", "x.npy", "--labels", "y.npy"]
        for args in [
            ["inspect", model], ["groups", model],
            ["plan", model, "--strategy", "l1", "--ratio", "0.5", "-o", "p.json"],
            ["eval", model] + data,
            ["sensitivity", model, "--strategy", "l1", "--ratios", "0.5", "--output", "sens"] + data,
            ["train", model, "--epochs", "1", "-o", "t.onnx"] + data,
        ] {
            let run = try surgeon(args)
            XCTAssertEqual(run.status, 0, "\(args): \(run.stderr)")
        }
        XCTAssertTrue(exists("t.onnx"))
        // predict writes what onnxruntime returns on the saved input.
        let run = try surgeon("predict", model, "--data", Self.fixture("legacy_shuffle.input.npy"), "-o", "y0.npy")
        XCTAssertEqual(run.status, 0, run.stderr)
        let y = try Npy.read(contentsOf: URL(fileURLWithPath: path("y0.npy"))).floatTensor()
        let expected = try Npy.read(contentsOf: URL(fileURLWithPath: Self.fixture("legacy_shuffle.output.npy")))
            .floatTensor()
        XCTAssertEqual(y.shape, expected.shape)
        for (a, b) in zip(y.scalars, expected.scalars) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    }

    /// Pruning through the channel shuffle halves the MACs and writes an ONNX file that reads
    /// back; `.keras` cannot hold the shuffle and is refused by name, writing nothing.
    func testPrune_throughTheShuffle_writesONNX_andRefusesKeras() throws {
        let model = Self.fixture("legacy_shuffle.onnx")
        var run = try surgeon("prune", model, "--strategy", "l1", "--target-macs", "0.5", "-o", "p.onnx", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        let before = try XCTUnwrap(try json(try surgeon("inspect", model, "--json").stdout)["macs"] as? Int)
        let after = try XCTUnwrap(try json(try surgeon("inspect", "p.onnx", "--json").stdout)["macs"] as? Int)
        XCTAssertLessThanOrEqual(Double(after), 0.5 * Double(before))
        run = try surgeon("convert", "p.onnx", "p.keras")
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("(ChannelGather)") && run.stderr.contains(".onnx"), run.stderr)
        XCTAssertFalse(exists("p.keras"))
    }

    /// A recipe starts from a torch export, with its data in NCHW, and exports `.onnx`.
    func testRecipe_fromONNXToONNX() throws {
        try writeNCHWData(count: 40)
        let recipe = """
            model: {file: \(Self.fixture("legacy_shuffle.onnx"))}
            data: {images: x.npy, labels: y.npy, train: [0, 32], validation: [32, 40]}
            stages:
              - train: {epochs: 1}
              - prune: {strategy: l1, target_macs: 0.5}
              - export: {path: pruned.onnx}
            """
        try recipe.write(to: URL(fileURLWithPath: path("recipe.yaml")), atomically: true, encoding: .utf8)
        let run = try surgeon("run", "recipe.yaml", "-o", "run")
        XCTAssertEqual(run.status, 0, run.stderr)
        let after = try XCTUnwrap(
            try json(try surgeon("inspect", path("run/pruned.onnx"), "--json").stdout)["macs"] as? Int)
        let before = try XCTUnwrap(
            try json(try surgeon("inspect", Self.fixture("legacy_shuffle.onnx"), "--json").stdout)["macs"] as? Int)
        XCTAssertLessThanOrEqual(Double(after), 0.5 * Double(before))
        // The exported file still takes NCHW data.
        XCTAssertEqual(try surgeon("eval", path("run/pruned.onnx"), "--data", "x.npy", "--labels", "y.npy").status, 0)
    }

    /// `--add-batchnorm` gives the folded BatchNorms back as nodes; `--fold-batchnorm` folds
    /// them again, with the same outputs.
    func testBatchNorms_addedAndFoldedBack() throws {
        let model = Self.fixture("legacy_cnn.onnx")
        var run = try surgeon("convert", model, "bn.onnx", "--add-batchnorm", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try json(run.stdout)["batchNormsAdded"] as? Int, 4)
        run = try surgeon("convert", "bn.onnx", "folded.onnx", "--fold-batchnorm", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try json(run.stdout)["batchNormsFolded"] as? Int, 4)
        let input = Self.fixture("legacy_cnn.input.npy")
        XCTAssertEqual(try surgeon("predict", "bn.onnx", "--data", input, "-o", "a.npy").status, 0)
        XCTAssertEqual(try surgeon("predict", "folded.onnx", "--data", input, "-o", "b.npy").status, 0)
        let a = try Npy.read(contentsOf: URL(fileURLWithPath: path("a.npy"))).floatTensor()
        let b = try Npy.read(contentsOf: URL(fileURLWithPath: path("b.npy"))).floatTensor()
        for (x, y) in zip(a.scalars, b.scalars) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        run = try surgeon("convert", model, "x.onnx", "--add-batchnorm", "--fold-batchnorm")
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("undo each other"), run.stderr)
    }
}
