import Foundation
import SurgeonCore
import SurgeonFormats
import XCTest

/// Every command that takes a model takes `.keras` and `.h5`; `-o` takes `.keras`; `convert`
/// goes between the formats. Uses the Keras fixtures of SurgeonKerasTests.
final class KerasCommandTests: CLITestCase {
    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SurgeonKerasTests/Fixtures/keras/\(name)").path
    }

    func testConvert_kerasToSurgeonAndBack_keepsTheModel() throws {
        let original = Self.fixture("se_block.keras")
        var run = try surgeon("convert", original, "m.surgeon", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        let report = try json(run.stdout)
        run = try surgeon("convert", "m.surgeon", "back.keras")
        XCTAssertEqual(run.status, 0, run.stderr)
        let a = try json(try surgeon("inspect", original, "--json").stdout)
        let b = try json(try surgeon("inspect", "back.keras", "--json").stdout)
        XCTAssertEqual(a["params"] as? Int, b["params"] as? Int)
        XCTAssertEqual(a["macs"] as? Int, b["macs"] as? Int)
        XCTAssertEqual(report["params"] as? Int, a["params"] as? Int)
        // Outputs of the converted file are the original's, bit for bit.
        XCTAssertEqual(
            try surgeon("predict", original, "--data", Self.fixture("se_block.input.npy"), "-o", "a.npy").status, 0)
        XCTAssertEqual(
            try surgeon("predict", "back.keras", "--data", Self.fixture("se_block.input.npy"), "-o", "b.npy").status, 0)
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: path("a.npy"))),
            try Data(contentsOf: URL(fileURLWithPath: path("b.npy"))))
    }

    func testLegacyH5_isReadByEveryModelCommand() throws {
        let h5 = Self.fixture("separable_block.k2.h5")
        XCTAssertEqual(try surgeon("inspect", h5).status, 0)
        XCTAssertEqual(try surgeon("groups", h5, "--json").status, 0)
        XCTAssertEqual(
            try surgeon("predict", h5, "--data", Self.fixture("separable_block.k2.input.npy"), "-o", "y.npy").status, 0)
        XCTAssertEqual(try surgeon("plan", h5, "--strategy", "l1", "--ratio", "0.5", "-o", "plan.json").status, 0)
        let run = try surgeon("convert", h5, "m.keras")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(exists("m.keras"))
    }

    func testPruneKeras_writesAPrunedKerasFile() throws {
        let run = try surgeon(
            "prune", Self.fixture("mobilenetv2_narrow.keras"), "--strategy", "l1", "--target-macs", "0.5", "-o",
            "p.keras", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        let before = try json(try surgeon("inspect", Self.fixture("mobilenetv2_narrow.keras"), "--json").stdout)
        let after = try json(try surgeon("inspect", "p.keras", "--json").stdout)
        let macsBefore = try XCTUnwrap(before["macs"] as? Int), macsAfter = try XCTUnwrap(after["macs"] as? Int)
        XCTAssertLessThanOrEqual(Double(macsAfter), 0.5 * Double(macsBefore))
        XCTAssertEqual(
            try surgeon("predict", "p.keras", "--data", Self.fixture("mobilenetv2_narrow.input.npy"), "-o", "y.npy")
                .status, 0)
    }

    func testOutputH5_isAUsageErrorAndWritesNothing() throws {
        let run = try surgeon(
            "prune", Self.fixture("sequential.keras"), "--strategy", "l1", "--ratio", "0.5", "-o", "p.h5")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(
            run.stderr.contains("surgeon writes Keras models as .keras (Keras 3); legacy .h5 is read-only"), run.stderr)
        XCTAssertFalse(exists("p.h5"))
        let convert = try surgeon("convert", Self.fixture("sequential.keras"), "m.h5")
        XCTAssertEqual(convert.status, 64)
        XCTAssertFalse(exists("m.h5"))
    }

    func testBadKerasFile_failsWithItsMessageAndWritesNothing() throws {
        let bad = Self.fixture("bad/lambda.keras")
        let run = try surgeon("convert", bad, "out.keras")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(
            run.stderr.contains("\(bad): layer 'affine_lambda' (Lambda): a Lambda layer holds Python code"), run.stderr)
        XCTAssertFalse(exists("out.keras"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
    }

    /// A recipe starts from a Keras model and exports the pruned model as `.keras`.
    func testRecipe_fromKerasToKeras() throws {
        try writeRandomData(count: 40)
        let recipe = """
            model: {file: \(Self.fixture("sequential.keras"))}
            data: {images: x.npy, labels: y.npy, train: [0, 32], validation: [32, 40]}
            stages:
              - train: {epochs: 1}
              - prune: {strategy: l1, target_macs: 0.5}
              - export: {path: pruned.keras}
            """
        try recipe.write(to: URL(fileURLWithPath: path("recipe.yaml")), atomically: true, encoding: .utf8)
        let run = try surgeon("run", "recipe.yaml", "-o", "run")
        XCTAssertEqual(run.status, 0, run.stderr)
        let exported = path("run/pruned.keras")
        let after = try json(try surgeon("inspect", exported, "--json").stdout)
        let before = try json(try surgeon("inspect", Self.fixture("sequential.keras"), "--json").stdout)
        let macsAfter = try XCTUnwrap(after["macs"] as? Int), macsBefore = try XCTUnwrap(before["macs"] as? Int)
        XCTAssertLessThanOrEqual(Double(macsAfter), 0.5 * Double(macsBefore))
    }

    /// Random 12x12x3 images with four classes, the shapes of the sequential fixture, as x.npy and y.npy.
    private func writeRandomData(count: Int) throws {
        var x = Tensor(shape: [count, 12, 12, 3])
        var random = SeededRandom(seed: 3)
        for i in 0..<x.count { x.scalars[i] = random.nextUnitFloat() }
        try Npy.write(NpyArray(x), to: URL(fileURLWithPath: path("x.npy")))
        try Npy.write(
            try NpyArray(shape: [count], storage: .int64((0..<count).map { Int64($0 % 4) })),
            to: URL(fileURLWithPath: path("y.npy")))
    }

    func testTrainKeras_writesKeras() throws {
        try writeRandomData(count: 32)
        let run = try surgeon(
            "train", Self.fixture("sequential.keras"), "--data", "x.npy", "--labels", "y.npy", "--epochs", "1", "-o",
            "t.keras")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try surgeon("inspect", "t.keras").status, 0)
    }
}
