import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import XCTest

/// A format's own error, with the message it gives.
private struct FormatFailure: Error, CustomStringConvertible, Equatable {
    var description: String
}

/// A format that writes a marker file, or fails with `failure`; read-only with `writeRefusal`.
private struct MarkerFormat: ModelFormat {
    var name: String
    var extensions: [String]
    var writeRefusal: String?
    var failure: String?

    init(name: String, extensions: [String], writeRefusal: String? = nil, failure: String? = nil) {
        self.name = name
        self.extensions = extensions
        self.writeRefusal = writeRefusal
        self.failure = failure
    }

    func read(contentsOf url: URL, registry: LayerRegistry) throws -> ModelContents {
        throw FormatFailure(description: "\(url.lastPathComponent): \(failure ?? "a marker holds no model")")
    }

    func write(_ contents: ModelContents, to url: URL) throws {
        if let failure { throw FormatFailure(description: "\(url.lastPathComponent): \(failure)") }
        try Data(name.utf8).write(to: url)
    }
}

final class ModelFormatRegistryTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-formats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    private func graph() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [3]), name: "input")
        let d = b.add(Dense(units: 2), name: "dense", inputs: [x])
        return try b.build(outputs: [d], seed: 1)
    }

    private func registry(_ formats: MarkerFormat...) throws -> ModelFormatRegistry {
        var registry = ModelFormatRegistry()
        for format in formats { try registry.register(format) }
        return registry
    }

    func testFormatForAPath_isChosenByItsExtensionIgnoringCase() throws {
        let formats = try registry(
            MarkerFormat(name: "marker", extensions: ["mark"]),
            MarkerFormat(name: "other", extensions: ["oth", "o2"]))
        XCTAssertEqual(formats.format(for: url("m.mark")).name, "marker")
        XCTAssertEqual(formats.format(for: url("m.MARK")).name, "marker")
        XCTAssertEqual(formats.format(for: url("m.o2")).name, "other")
        XCTAssertEqual(formats.format(for: url("m.surgeon")).name, "surgeon")
        XCTAssertEqual(formats.all.map(\.name), ["surgeon", "marker", "other"])
        XCTAssertEqual(formats.extensions, ["mark", "o2", "oth", "surgeon"])
        try formats.save(ModelContents(graph: graph()), to: url("m.mark"))
        XCTAssertEqual(try String(contentsOf: url("m.mark"), encoding: .utf8), "marker")
    }

    func testUnclaimedExtension_fallsBackToTheNativeFormat() throws {
        let formats = try registry(MarkerFormat(name: "marker", extensions: ["mark"]))
        XCTAssertEqual(formats.format(for: url("m.bin")).name, "surgeon")
        XCTAssertEqual(formats.format(for: url("model")).name, "surgeon")
        let original = try graph()
        try formats.save(ModelContents(graph: original, metadata: ["k": "v"]), to: url("m.bin"))
        let loaded = try formats.load(contentsOf: url("m.bin"), registry: .standard)
        XCTAssertEqual(loaded.graph.nodes.map(\.layer.weights), original.nodes.map(\.layer.weights))
        XCTAssertEqual(loaded.metadata["k"], "v")
        try Data("not a model".utf8).write(to: url("notes.bin"))
        XCTAssertThrowsError(try formats.load(contentsOf: url("notes.bin"), registry: .standard)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(self.url("notes.bin").path) is not a surgeon model file"), "\(error)")
        }
    }

    func testExtensionClaimedTwice_isRefusedAndTheRegistryUnchanged() throws {
        var formats = try registry(MarkerFormat(name: "marker", extensions: ["mark"]))
        XCTAssertThrowsError(try formats.register(MarkerFormat(name: "again", extensions: ["new", "MARK"]))) { error in
            XCTAssertEqual(error as? RegistryError, .duplicate(kind: "model format for extension", name: ".MARK"))
            XCTAssertEqual("\(error)", "a model format for extension named '.MARK' is already registered")
        }
        XCTAssertThrowsError(try formats.register(MarkerFormat(name: "native again", extensions: ["surgeon"]))) {
            error in
            XCTAssertEqual("\(error)", "a model format for extension named '.surgeon' is already registered")
        }
        XCTAssertEqual(formats.all.map(\.name), ["surgeon", "marker"])
        XCTAssertEqual(formats.format(for: url("m.new")).name, "surgeon", "nothing of a refused format is registered")
    }

    func testReadOnlyFormat_refusesBeforeWritingAnything() throws {
        let reason = "legacy markers are read-only; save as .surgeon"
        let formats = try registry(MarkerFormat(name: "legacy", extensions: ["old"], writeRefusal: reason))
        XCTAssertEqual(formats.writeRefusal(for: url("m.old")), reason)
        XCTAssertNil(formats.writeRefusal(for: url("m.surgeon")))
        XCTAssertThrowsError(try formats.save(ModelContents(graph: graph()), to: url("m.old"))) { error in
            XCTAssertEqual("\(error)", "\(self.url("m.old").path): \(reason)")
            XCTAssertNil((error as? ModelFormatError)?.underlying)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url("m.old").path))
    }

    func testNaNOrInfiniteWeight_isRefusedNamingTheLayerBeforeWritingAnything() throws {
        let formats = ModelFormatRegistry()
        for bad in [Float.nan, .infinity] {
            var g = try graph()
            let d = try XCTUnwrap(g.nodes.firstIndex { $0.name == "dense" })
            var weights = g.nodes[d].layer.weights
            weights[1].scalars[1] = bad
            try g.setWeights(weights, ofNode: d)
            XCTAssertThrowsError(try formats.save(ModelContents(graph: g), to: url("m.surgeon"))) { error in
                XCTAssertEqual(
                    "\(error)",
                    "not writing \(self.url("m.surgeon").path): layer 'dense': bias[1] is \(bad); a model is written "
                        + "only with finite weights")
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
        }
    }

    func testFormatErrors_passTheFormatsMessageThrough() throws {
        let formats = try registry(MarkerFormat(name: "broken", extensions: ["brk"], failure: "the header is damaged"))
        XCTAssertThrowsError(try formats.load(contentsOf: url("m.brk"), registry: .standard)) { error in
            XCTAssertEqual("\(error)", "m.brk: the header is damaged")
            XCTAssertEqual(
                (error as? ModelFormatError)?.underlying as? FormatFailure,
                FormatFailure(description: "m.brk: the header is damaged"))
            guard case let .read(format, _)? = error as? ModelFormatError else {
                return XCTFail("not a read error: \(error)")
            }
            XCTAssertEqual(format, "broken")
        }
        XCTAssertThrowsError(try formats.save(ModelContents(graph: graph()), to: url("m.brk"))) { error in
            XCTAssertEqual("\(error)", "m.brk: the header is damaged")
            guard case let .write(format, _)? = error as? ModelFormatError else {
                return XCTFail("not a write error: \(error)")
            }
            XCTAssertEqual(format, "broken")
        }
    }
}
