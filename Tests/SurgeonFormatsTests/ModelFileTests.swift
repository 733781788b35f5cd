import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonTestSupport
import XCTest

final class ModelFileTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-modelfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func sampleGraph() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [8, 8, 2]), name: "input")
        var y = b.add(
            Conv2D(filters: 4, kernelSize: [3, 3], strides: [2, 2], padding: .same, useBias: false), name: "conv",
            inputs: [x])
        y = b.add(BatchNormalization(momentum: 0.9), name: "bn", inputs: [y])
        y = b.add(ReLU(maxValue: 6), name: "relu", inputs: [y])
        let d = b.add(DepthwiseConv2D(kernelSize: [3, 3], padding: .same, depthMultiplier: 2), name: "dw", inputs: [y])
        y = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [d])
        y = b.add(Dense(units: 3, activation: .softmax), name: "out", inputs: [y])
        var graph = try b.build(outputs: [y], seed: 5)
        // Non-trivial BN statistics so that the round trip covers every weight.
        let i = graph.index(of: "bn")!
        try graph.setWeights(
            graph.nodes[i].layer.weights.enumerated().map { k, w in
                Tensor.random(shape: w.shape, seed: UInt64(k), range: 0.5...1.5)
            }, ofNode: i)
        return graph
    }

    func testSaveAndLoad_roundTripsBitExactly() throws {
        let graph = try sampleGraph()
        let url = folder.appendingPathComponent("m.surgeon")
        let extra = Tensor.random(shape: [3, 2], seed: 9)
        try ModelFile.save(
            ModelFile.Contents(graph: graph, metadata: ["note": "hello", "n": 3], extraTensors: [("state", extra)]),
            to: url)
        let loaded = try ModelFile.load(contentsOf: url, registry: .standard)
        XCTAssertNoThrow(try loaded.graph.checkInvariants())
        XCTAssertEqual(loaded.graph.nodes.map(\.name), graph.nodes.map(\.name))
        XCTAssertEqual(loaded.graph.outputNames, graph.outputNames)
        for (a, b) in zip(loaded.graph.nodes, graph.nodes) {
            XCTAssertEqual(a.layer.kerasClassName, b.layer.kerasClassName)
            XCTAssertEqual(a.layer.config, b.layer.config, a.name)
            XCTAssertEqual(a.inputs, b.inputs)
            XCTAssertEqual(
                a.layer.weights.map { $0.scalars.map(\.bitPattern) },
                b.layer.weights.map { $0.scalars.map(\.bitPattern) }, a.name)
        }
        XCTAssertEqual(loaded.metadata["note"], "hello")
        XCTAssertEqual(loaded.extraTensors.first?.tensor, extra)
        let x = Tensor.random(shape: [2, 8, 8, 2], seed: 1)
        XCTAssertEqual(try loaded.graph.predict([x]), try graph.predict([x]))
        // Saving the loaded model again gives the same bytes.
        let url2 = folder.appendingPathComponent("m2.surgeon")
        try ModelFile.save(loaded, to: url2)
        XCTAssertEqual(try Data(contentsOf: url), try Data(contentsOf: url2))
    }

    func testUnknownVersion_isAClearError() throws {
        var bytes = try ModelFile.encode(ModelFile.Contents(graph: sampleGraph()))
        bytes[8] = 9
        XCTAssertThrowsError(try ModelFile.decode(bytes, source: "old.surgeon", registry: .standard)) { error in
            XCTAssertEqual(
                "\(error)",
                "old.surgeon has model format version 9; this surgeon reads version 1. Re-save it with a surgeon of "
                    + "that version"
            )
        }
    }

    func testFlippedByte_isReportedAsCorrupt() throws {
        var bytes = try ModelFile.encode(ModelFile.Contents(graph: sampleGraph()))
        bytes[bytes.count - 7] ^= 0x40
        XCTAssertThrowsError(try ModelFile.decode(bytes, source: "m.surgeon", registry: .standard)) { error in
            XCTAssertEqual(
                "\(error)",
                "m.surgeon is corrupt: checksum mismatch (the file was changed or damaged after it was written)")
        }
    }

    func testTruncatedFile_saysHowManyBytesAreMissing() throws {
        let bytes = try ModelFile.encode(ModelFile.Contents(graph: sampleGraph()))
        let cut = bytes.prefix(bytes.count - 100)
        XCTAssertThrowsError(try ModelFile.decode(Data(cut), source: "cut.surgeon", registry: .standard)) { error in
            XCTAssertEqual(
                "\(error)", "cut.surgeon is truncated: it should hold \(bytes.count) bytes but has \(bytes.count - 100)"
            )
        }
        XCTAssertThrowsError(try ModelFile.decode(Data(bytes.prefix(20)), source: "cut.surgeon", registry: .standard)) {
            error in
            XCTAssertEqual("\(error)", "cut.surgeon is truncated: it should hold 40 bytes but has 20")
        }
    }

    func testOtherFile_isNotAModelFile() {
        XCTAssertThrowsError(try ModelFile.decode(Data("\u{93}NUMPY".utf8), source: "x.npy", registry: .standard)) {
            error in
            XCTAssertTrue("\(error)".hasPrefix("x.npy is not a surgeon model file"), "\(error)")
        }
    }

    func testMissingFile_namesThePath() {
        let url = folder.appendingPathComponent("nope.surgeon")
        XCTAssertThrowsError(try ModelFile.load(contentsOf: url, registry: .standard)) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot read \(url.path)"), "\(error)")
        }
    }

    func testUnregisteredLayerType_namesTheNodeAndTheSupportedTypes() throws {
        let bytes = try ModelFile.encode(ModelFile.Contents(graph: sampleGraph()))
        var registry = LayerRegistry()
        try registry.register(InputLayer.self)
        XCTAssertThrowsError(try ModelFile.decode(bytes, source: "m.surgeon", registry: registry)) { error in
            XCTAssertEqual("\(error)", "m.surgeon: node 'conv': unknown layer type 'Conv2D'; supported: InputLayer")
        }
    }

    func testSavingIntoMissingFolder_failsAndLeavesNoFile() throws {
        let url = folder.appendingPathComponent("no/such/dir/m.surgeon")
        XCTAssertThrowsError(try ModelFile.save(sampleGraph(), to: url)) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    func testSaving_leavesNoTemporaryFiles() throws {
        let url = folder.appendingPathComponent("m.surgeon")
        try ModelFile.save(sampleGraph(), to: url)
        try ModelFile.save(sampleGraph(), to: url)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["m.surgeon"])
    }
}
