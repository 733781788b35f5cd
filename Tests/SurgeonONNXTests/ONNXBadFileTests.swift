import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import XCTest

@testable import SurgeonONNX

/// Bad ONNX files get an error naming the file, the node, its op type and opset, and what
/// surgeon accepts, before anything is built; nothing from outside the model's folder is read.
final class ONNXBadFileTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// input [N, 3, 4, 4] -> Conv(W [2, 3, 1, 1], B [2], name "conv") -> "logits".
    static func model(irVersion: Int64 = 8, opset: Int64 = 17) -> Onnx_ModelProto {
        ONNXTestModel.model(
            irVersion: irVersion, opset: opset, input: [3, 4, 4],
            nodes: [ONNXTestModel.node("Conv", "conv", inputs: ["input", "W", "B"], outputs: ["logits"])],
            outputs: [("logits", [2, 4, 4])],
            initializers: [
                ONNXProto.tensor("W", dims: [2, 3, 1, 1], floats: [1, 2, 3, 4, 5, 6]),
                ONNXProto.tensor("B", dims: [2], floats: [0.5, -0.5]),
            ])
    }

    func read(_ m: Onnx_ModelProto, name: String = "m.onnx") throws -> ModelContents {
        let url = folder.appendingPathComponent(name)
        try (try m.serializedBytes() as Data).write(to: url)
        return try ONNXModelFile.load(contentsOf: url, registry: .standard)
    }

    /// The error's message, which must name the file and contain every fragment.
    func refusal(_ m: Onnx_ModelProto, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try read(m)
            XCTFail("read without an error", file: file, line: line)
        } catch {
            let message = "\(error)"
            XCTAssertTrue(message.contains("m.onnx"), message, file: file, line: line)
            for f in fragments {
                XCTAssertTrue(message.contains(f), "'\(f)' missing from: \(message)", file: file, line: line)
            }
        }
    }

    func testTheBaseModel_reads() throws {
        let contents = try read(Self.model())
        XCTAssertEqual(contents.graph.nodes.map(\.name), ["input", "conv"])
    }

    func testUnsupportedOp_isNamedWithItsOpsetAndTheSupportedList() {
        var m = Self.model()
        m.graph.node[0].opType = "Conv3D"
        refusal(m, ["node 'conv' (Conv3D, opset 17)", "the op Conv3D is not supported", "surgeon reads:", "Gemm"])
    }

    func testUnsupportedDomainAndAttributeValue_areNamed() {
        var m = Self.model()
        m.graph.node[0].domain = "com.example"
        refusal(m, ["node 'conv'", "domain 'com.example'"])
        m = Self.model()
        var hard = Onnx_NodeProto()
        hard.opType = "HardSigmoid"
        hard.input = ["x"]
        hard.output = ["logits"]
        hard.attribute = [ONNXProto.attribute("alpha", float: 0.2)]
        m.graph.node[0].output = ["x"]
        m.graph.node.append(hard)
        refusal(m, ["HardSigmoid #1", "alpha 0.2", "alpha 1/6"])
        m.graph.node[1].attribute = [ONNXProto.attribute("alpha", ints: [1])]
        refusal(m, ["attribute 'alpha' is of type ints; expected float"])
    }

    func testDynamicSpatialSize_isRefusedNamingTheDimension() {
        var m = Self.model()
        m.graph.input[0].type.tensorType.shape.dim[2].dimParam = "H"
        refusal(m, ["graph input 'input'", "dimension 2", "static channel and spatial sizes"])
    }

    func testWeightsComputedFromTheInput_areRefused() {
        var m = Self.model()
        var relu = Onnx_NodeProto()
        relu.opType = "Relu"
        relu.name = "relu"
        relu.input = ["input"]
        relu.output = ["dynamic"]
        m.graph.node.insert(relu, at: 0)
        m.graph.node[1].input[1] = "dynamic"
        refusal(m, ["node 'conv' (Conv, opset 17)", "dynamic weights"])
    }

    func testVersionsOutOfRange_areRefusedWithTheRange() {
        refusal(Self.model(irVersion: 15), ["IR version 15 is not supported", "3...14"])
        var m = Self.model()
        m.clearIrVersion()
        refusal(m, ["no IR version"])
        refusal(Self.model(opset: 29), ["ai.onnx opset 29 is not supported", "7...28"])
        m = Self.model()
        m.opsetImport[0].domain = "ai.onnx.ml"
        refusal(m, ["imports no ai.onnx opset"])
    }

    func testTruncatedAndGarbageBytes_areRefusedWithoutACrash() throws {
        let bytes: Data = try Self.model().serializedBytes()
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            let url = folder.appendingPathComponent("t.onnx")
            try bytes.prefix(cut).write(to: url)
            XCTAssertThrowsError(try ONNXModelFile.load(contentsOf: url, registry: .standard), "cut at \(cut)") {
                error in
                XCTAssertTrue("\(error)".contains("t.onnx"), "\(error)")
            }
        }
        var random = SeededRandom(seed: 9)
        for trial in 0..<50 {
            let garbage = Data((0..<200).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            XCTAssertThrowsError(
                try ONNXModelFile.decode(garbage, model: folder.appendingPathComponent("g.onnx"), registry: .standard),
                "trial \(trial)")
        }
    }

    func testTensorSizesThatDisagreeWithTheirData_areRefusedBeforeAllocating() {
        var m = Self.model()
        m.graph.initializer[0].rawData = m.graph.initializer[0].rawData.prefix(20)
        refusal(m, ["tensor 'W'", "raw_data holds 20 bytes", "needs 24"])
        m = Self.model()
        m.graph.initializer[0].dims = [1 << 40]
        refusal(m, ["tensor 'W'", "outside 0...2^31"])
        m = Self.model()
        m.graph.initializer[0].dims = [1 << 30, 1 << 30, 1 << 30]
        refusal(m, ["tensor 'W'", "elements"])
        m = Self.model()
        m.graph.initializer[1].clearRawData()
        m.graph.initializer[1].floatData = [1]
        refusal(m, ["tensor 'B'", "float_data holds 1 values", "needs 2"])
        m = Self.model()
        m.graph.initializer[0].dataType = 8
        refusal(m, ["tensor 'W'", "element type STRING is not supported"])
    }

    func testUndefinedInputsCyclesAndTwiceDefinedValues_areRefused() {
        var m = Self.model()
        m.graph.node[0].input[1] = "missing"
        refusal(m, ["node 'conv' (Conv)", "reads 'missing'"])
        m = Self.model()
        var a = Onnx_NodeProto()
        a.opType = "Relu"
        a.input = ["b"]
        a.output = ["a"]
        var b = Onnx_NodeProto()
        b.opType = "Relu"
        b.input = ["a"]
        b.output = ["b"]
        m.graph.node += [a, b]
        refusal(m, ["cycle"])
        m = Self.model()
        m.graph.node.append(m.graph.node[0])
        refusal(m, ["'logits' is defined twice"])
    }

    /// Flatten (NCHW order) -> Relu -> Gemm: the ReLU keeps the features' NCHW order, so the
    /// Dense kernel is still permuted and the output is what the file computes.
    func testActivationBetweenFlattenAndGemm_keepsTheFeatureOrder() throws {
        var m = Self.model()
        let b = (0..<(4 * 12)).map { Float($0 % 7) - 3 }
        m.graph.input = [ONNXProto.valueInfo("input", batch: .parameter("N"), dims: [3, 2, 2])]
        m.graph.output = [ONNXProto.valueInfo("logits", batch: .parameter("N"), dims: [4])]
        m.graph.initializer = [ONNXProto.tensor("B", dims: [4, 12], floats: b)]
        func node(_ op: String, _ inputs: [String], _ output: String, _ a: [Onnx_AttributeProto] = []) -> Onnx_NodeProto
        {
            var n = Onnx_NodeProto()
            n.opType = op
            n.name = op
            n.input = inputs
            n.output = [output]
            n.attribute = a
            return n
        }
        m.graph.node = [
            node("Flatten", ["input"], "flat", [ONNXProto.attribute("axis", int: 1)]),
            node("Relu", ["flat"], "relu"),
            node("Gemm", ["relu", "B"], "logits", [ONNXProto.attribute("transB", int: 1)]),
        ]
        let contents = try read(m)
        let nchw = (0..<12).map { Float($0) - 5 }
        let x = DataLayout.channelsFirst.toInternal(try Tensor(shape: [1, 3, 2, 2], scalars: nchw))
        let y = try contents.graph.predict([x])[0]
        let expected = (0..<4).map { o in (0..<12).reduce(Float(0)) { $0 + max(nchw[$1], 0) * b[o * 12 + $1] } }
        XCTAssertEqual(y.scalars, expected)
    }

    /// A fixed batch of 1 (torch's dynamo export without dynamic shapes) with a flatten
    /// Reshape to [1, C], and a one-input Concat (DenseNet), read.
    func testFixedBatchFlattenAndOneInputConcat_read() throws {
        var m = Self.model()
        m.graph.input = [ONNXProto.valueInfo("input", batch: .fixed(1), dims: [3, 1, 1])]
        m.graph.output = [ONNXProto.valueInfo("logits", batch: .fixed(1), dims: [2])]
        m.graph.initializer.append(ONNXProto.tensor("shape", dims: [2], ints: [1, 2]))
        var concat = Onnx_NodeProto()
        concat.opType = "Concat"
        concat.input = ["conv"]
        concat.output = ["cat"]
        concat.attribute = [ONNXProto.attribute("axis", int: 1)]
        var reshape = Onnx_NodeProto()
        reshape.opType = "Reshape"
        reshape.input = ["cat", "shape"]
        reshape.output = ["logits"]
        m.graph.node[0].output = ["conv"]
        m.graph.node += [concat, reshape]
        let contents = try read(m)
        XCTAssertEqual(contents.graph.nodes.map(\.layer.kerasClassName), ["InputLayer", "Conv2D", "Flatten"])
        let x = try Tensor(shape: [1, 1, 1, 3], scalars: [1, 2, 3])
        XCTAssertEqual(try contents.graph.predict([x])[0].scalars, [14.5, 31.5])
    }

    // MARK: - External data

    /// The base model with W's bytes in an external file at `location`.
    func externalModel(location: String, length: Int? = nil) -> Onnx_ModelProto {
        var m = Self.model()
        var w = m.graph.initializer[0]
        w.clearRawData()
        w.dataLocation = .external
        var entry = Onnx_StringStringEntryProto()
        entry.key = "location"
        entry.value = location
        w.externalData = [entry]
        if let length {
            var l = Onnx_StringStringEntryProto()
            l.key = "length"
            l.value = "\(length)"
            w.externalData.append(l)
        }
        m.graph.initializer[0] = w
        return m
    }

    static let weightBytes = ONNXProto.tensor("W", dims: [2, 3, 1, 1], floats: [1, 2, 3, 4, 5, 6]).rawData

    func testExternalData_beside_theModel_reads() throws {
        try Self.weightBytes.write(to: folder.appendingPathComponent("m.onnx.data"))
        let contents = try read(externalModel(location: "m.onnx.data"))
        XCTAssertEqual(contents.graph["conv"]?.layer.weights[0].scalars.sorted(), [1, 2, 3, 4, 5, 6])
    }

    func testExternalData_missingTruncatedOrOutsideTheFolder_isRefused() throws {
        refusal(externalModel(location: "absent.data"), ["tensor 'W'", "absent.data"])
        try Self.weightBytes.prefix(10).write(to: folder.appendingPathComponent("short.data"))
        refusal(externalModel(location: "short.data"), ["tensor 'W'", "short.data"])
        refusal(externalModel(location: "/etc/passwd"), ["tensor 'W'", "/etc/passwd"])
        refusal(externalModel(location: "../m.onnx.data"), ["tensor 'W'", "'..'"])
        try Self.weightBytes.write(to: folder.appendingPathComponent("w.data"))
        refusal(externalModel(location: "w.data", length: 999), ["tensor 'W'", "w.data"])
    }

    /// A link inside the folder to a file outside, and a FIFO, are refused: no byte of another
    /// file reaches the model, and nothing blocks.
    func testExternalData_throughALinkOrAFIFO_readsNothing() throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString)")
        try Self.weightBytes.write(to: outside)
        defer { try? FileManager.default.removeItem(at: outside) }
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent("link.data"), withDestinationURL: outside)
        refusal(externalModel(location: "link.data"), ["tensor 'W'", "link.data"])
        XCTAssertEqual(mkfifo(folder.appendingPathComponent("fifo.data").path, 0o600), 0)
        refusal(externalModel(location: "fifo.data"), ["tensor 'W'", "FIFO"])
    }

    /// Tensors that name the same external bytes again and again cannot multiply the memory
    /// taken: the bytes read from a file may not exceed its size.
    func testExternalData_readTwice_isRefused() throws {
        try Self.weightBytes.write(to: folder.appendingPathComponent("w.data"))
        var m = externalModel(location: "w.data")
        var copy = m.graph.initializer[0]
        copy.name = "W2"
        m.graph.initializer.append(copy)
        refusal(m, ["tensor 'W2'", "w.data"])
    }
}
