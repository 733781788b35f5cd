import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonKeras
import XCTest

/// Damaged and unsupported Keras files (`Fixtures/keras/bad/`, made from real Keras files by
/// `make_fixtures.py`) give an error naming the file, the member or layer, and what was expected.
final class KerasBadFileTests: XCTestCase {
    private func message(_ name: String) throws -> (path: String, message: String) {
        let url = try KerasFixtureTests.fixture("bad/\(name)")
        do {
            _ = try KerasModelFile.load(contentsOf: url, registry: .standard)
        } catch {
            return (url.path, error.description)
        }
        XCTFail("\(name) loaded")
        return (url.path, "")
    }

    private func assertMessage(
        _ name: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let (path, message) = try message(name)
        XCTAssertEqual(message, "\(path)\(expected)", file: file, line: line)
    }

    func testTruncatedArchive_isNotAZip() throws {
        try assertMessage(
            "truncated.keras",
            " is not a Keras 3 .keras archive (a zip file): it has no zip end-of-central-directory record (it is not a "
                + "zip file, or it was cut short)"
        )
    }

    func testRandomBytes_areNotAZip() throws {
        try assertMessage(
            "not_a_zip.keras",
            " is not a Keras 3 .keras archive (a zip file): it has no zip end-of-central-directory record (it is not a "
                + "zip file, or it was cut short)"
        )
    }

    func testMissingWeightsMember_namesIt() throws {
        try assertMessage(
            "missing_weights.keras",
            ": the archive has no 'model.weights.h5' (a .keras file holds config.json and model.weights.h5); it holds "
                + "metadata.json, config.json"
        )
    }

    func testMissingConfigMember_namesIt() throws {
        try assertMessage(
            "missing_config.keras",
            ": the archive has no 'config.json' (a .keras file holds config.json and model.weights.h5); it holds "
                + "metadata.json, model.weights.h5"
        )
    }

    func testLambda_isRefused() throws {
        try assertMessage(
            "lambda.keras",
            ": layer 'affine_lambda' (Lambda): a Lambda layer holds Python code, which surgeon never runs; replace it "
                + "with built-in layers"
        )
    }

    func testCustomLayer_isRefused() throws {
        try assertMessage(
            "custom_layer.keras",
            ": layer 'scale' (ScaleByTwo): a custom class ('SurgeonFixtures>ScaleByTwo') defined in Python, which "
                + "surgeon never runs; register a Swift layer type named 'ScaleByTwo' (an extension package, README "
                + "\"Extending surgeon\") to load it"
        )
    }

    func testNestedModel_isRefused() throws {
        try assertMessage(
            "nested_model.keras",
            ": layer 'inner_seq' (Sequential): a nested model; surgeon reads flat models (rebuild it with the nested "
                + "model's layers inline)"
        )
    }

    func testWeightShapeMismatch_namesLayerWeightAndBothShapes() throws {
        try assertMessage(
            "shape_mismatch.keras",
            ": model.weights.h5: layer 'conv' (Conv2D, weights in 'layers/conv2d/vars'), weight 0 (kernel) has shape "
                + "[3, 3, 3, 7] in the file; the model config implies [3, 3, 3, 6]"
        )
    }

    func testWeightCountMismatch_namesTheExpectedWeights() throws {
        try assertMessage(
            "count_mismatch.keras",
            ": model.weights.h5: layer 'bn' (BatchNormalization, weights in 'layers/batch_normalization/vars') expects "
                + "4 weights (gamma, beta, moving_mean, moving_variance), but the file holds 3"
        )
    }

    func testCorruptWeights_sayTheWeightsFileIsDamaged() throws {
        try assertMessage(
            "corrupt_weights.keras",
            ": model.weights.h5: layer 'bn' (BatchNormalization, weights in 'layers/batch_normalization/vars'), weight "
                + "1 (beta): '/layers/batch_normalization/vars/1' is listed but cannot be opened (the weights file is "
                + "damaged)"
        )
    }

    func testTruncatedH5_isNotReadable() throws {
        let (path, message) = try message("truncated.h5")
        XCTAssertTrue(message.hasPrefix("\(path) is not a readable HDF5 file ("), message)
    }

    /// A `.keras` or `.h5` file cut anywhere, or with a damaged byte anywhere, gives an error
    /// (or, for a byte in unused padding, the same model) and never a crash.
    func testCutOrDamagedAnywhere_isAnErrorNotACrash() throws {
        for name in ["separable_block.keras", "separable_block.k2.h5"] {
            let url = try KerasFixtureTests.fixture(name)
            let bytes = try Data(contentsOf: url)
            let decode = { (data: Data) throws -> ModelFile.Contents in
                name.hasSuffix(".keras")
                    ? try KerasModelFile.decodeArchive(data, path: name, registry: .standard)
                    : try KerasModelFile.decodeLegacy(data, path: name, registry: .standard)
            }
            var random = SeededRandom(seed: 11)
            for k in 0..<40 {
                let cut = Int(random.next() % UInt64(bytes.count))
                XCTAssertThrowsError(try decode(bytes.prefix(cut)), "\(name) cut at \(cut) (case \(k))")
                var damaged = bytes
                let at = Int(random.next() % UInt64(bytes.count))
                damaged[at] ^= 0x5A
                _ = try? decode(damaged)
            }
        }
    }

    /// Members surgeon does not read (assets) are never extracted, and a missing member's
    /// message lists what the archive does hold.
    func testExtraMembers_areIgnoredAndListed() throws {
        let zip = try ZipMembers.read(try Data(contentsOf: try KerasFixtureTests.fixture("sequential.keras")))
        let extra = zip + [("assets/vocabulary.txt", Data("a\nb\n".utf8))]
        XCTAssertNoThrow(
            try KerasModelFile.decodeArchive(try ZipMembers.write(extra), path: "x.keras", registry: .standard))
        let withoutConfig = try ZipMembers.write(extra.filter { $0.name != "config.json" })
        XCTAssertThrowsError(try KerasModelFile.decodeArchive(withoutConfig, path: "x.keras", registry: .standard)) {
            error in
            XCTAssertEqual(
                "\(error)",
                "x.keras: the archive has no 'config.json' (a .keras file holds config.json and model.weights.h5); "
                    + "it holds metadata.json, model.weights.h5, assets/vocabulary.txt")
        }
    }

    /// Loading never modifies the input file.
    func testFailedLoad_leavesTheFileUnchanged() throws {
        let url = try KerasFixtureTests.fixture("bad/shape_mismatch.keras")
        let before = try Data(contentsOf: url)
        XCTAssertThrowsError(try KerasModelFile.load(contentsOf: url, registry: .standard))
        XCTAssertEqual(try Data(contentsOf: url), before)
    }

    func testWritingH5_isRefusedBeforeWriting() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keras-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let contents = try KerasModelFile.load(
            contentsOf: try KerasFixtureTests.fixture("sequential.keras"), registry: .standard)
        let target = folder.appendingPathComponent("out.h5")
        var formats = ModelFormatRegistry()
        try formats.registerKeras()
        XCTAssertThrowsError(try formats.save(contents, to: target)) { error in
            XCTAssertEqual(
                "\(error)",
                "\(target.path): surgeon writes Keras models as .keras (Keras 3); legacy .h5 is read-only. "
                    + "Use OUT.keras or OUT.surgeon")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
    }
}
