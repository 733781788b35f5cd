import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonTestSupport
import XCTest

@testable import SurgeonONNX

/// Models exported by torch 2.13 (both exporters) and tf2onnx, with the outputs onnxruntime
/// 1.32 computed on their saved inputs (Fixtures/onnx/make_fixtures.py).
final class ONNXFixtureTests: XCTestCase {
    /// The fixtures surgeon reads, with the exporter each comes from.
    static let readable = [
        "legacy_cnn", "legacy_bn_kept", "legacy_mobile", "legacy_grouped", "legacy_shuffle", "dynamo_cnn",
        "tf2onnx_keras",
    ]

    static func fixture(_ name: String) throws -> URL {
        let url = try XCTUnwrap(Bundle.module.resourceURL).appendingPathComponent("Fixtures/onnx/\(name)")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: url.path])
        }
        return url
    }

    static func tensor(_ name: String) throws -> Tensor {
        try Npy.read(contentsOf: try fixture(name)).floatTensor()
    }

    static func load(_ name: String) throws -> ModelContents {
        try ONNXModelFile.load(contentsOf: try fixture("\(name).onnx"), registry: .standard)
    }

    /// The saved input in surgeon's NHWC layout.
    static func input(_ name: String, for contents: ModelContents) throws -> Tensor {
        DataLayout(metadata: contents.metadata).toInternal(try tensor("\(name).input.npy"))
    }

    func testFixtures_giveOnnxruntimesOutputs() throws {
        for name in Self.readable {
            let contents = try Self.load(name)
            let y = try contents.graph.predict([try Self.input(name, for: contents)])[0]
            let expected = try Self.tensor("\(name).output.npy")
            assertClose(y, try expected.reshaped(y.shape), tolerance: 1e-4, name)
        }
    }

    func testTorchExports_areNCHWAndTf2onnxIsNHWC() throws {
        XCTAssertEqual(DataLayout(metadata: try Self.load("legacy_cnn").metadata), .channelsFirst)
        XCTAssertEqual(DataLayout(metadata: try Self.load("dynamo_cnn").metadata), .channelsFirst)
        XCTAssertEqual(DataLayout(metadata: try Self.load("tf2onnx_keras").metadata), .channelsLast)
    }

    /// Layers keep the node names a PyTorch user sees (`/conv1/Conv`).
    func testLayers_keepTheirONNXNodeNames() throws {
        let names = try Self.load("legacy_cnn").graph.nodes.map(\.name)
        XCTAssertTrue(names.contains("/conv1/Conv"), "\(names)")
        XCTAssertTrue(names.contains("/fc/Gemm"), "\(names)")
        XCTAssertEqual(names.first, "input")
    }

    /// The exporters' shape arithmetic (`x.view(x.size(0), -1)`) folds to a Flatten; the
    /// folded BatchNorms leave convs with biases, the kept ones stay BatchNormalization.
    func testShapeChainsFold_andBatchNormsStayWhereTheSourceHadThem() throws {
        let graph = try Self.load("legacy_cnn").graph
        let cnn = graph.nodes.map(\.layer.kerasClassName)
        // GlobalAveragePool + the folded view: one global pooling without keepdims.
        XCTAssertFalse(cnn.contains("Reshape"))
        let pool = try XCTUnwrap(graph.index(of: "/avgpool/GlobalAveragePool"))
        XCTAssertEqual(graph.shapes[pool], [16])
        XCTAssertFalse(cnn.contains("BatchNormalization"))
        let kept = try Self.load("legacy_bn_kept").graph.nodes.map(\.layer.kerasClassName)
        XCTAssertEqual(kept.filter { $0 == "BatchNormalization" }.count, 2)
    }

    /// ONNX -> surgeon -> ONNX -> surgeon keeps every weight bit for bit, and the interface.
    func testRoundTrip_keepsEveryWeightBitExactly() throws {
        for name in Self.readable {
            let contents = try Self.load(name)
            let bytes = try ONNXModelFile.encode(contents)
            let again = try ONNXModelFile.decode(
                bytes, model: URL(fileURLWithPath: "/nonexistent/\(name).onnx"), registry: .standard)
            XCTAssertEqual(again.graph.nodes.map(\.name), contents.graph.nodes.map(\.name), name)
            for (a, b) in zip(contents.graph.nodes, again.graph.nodes) {
                XCTAssertEqual(a.layer.weights.map(\.shape), b.layer.weights.map(\.shape), "\(name): \(a.name)")
                XCTAssertEqual(
                    a.layer.weights.map { $0.scalars.map(\.bitPattern) },
                    b.layer.weights.map { $0.scalars.map(\.bitPattern) },
                    "\(name): \(a.name)")
            }
            XCTAssertEqual(
                ONNXOrigin(metadata: again.metadata)?.inputName, ONNXOrigin(metadata: contents.metadata)?.inputName)
            XCTAssertEqual(
                ONNXOrigin(metadata: again.metadata)?.outputNames, ONNXOrigin(metadata: contents.metadata)?.outputNames)
            XCTAssertEqual(DataLayout(metadata: again.metadata), DataLayout(metadata: contents.metadata))
        }
    }

    /// Each output keeps its own batch `dim_param` (tf2onnx names the input's and the output's
    /// differently), so the written file declares the interface the original did.
    func testOutputs_keepTheirBatchDimensionNames() throws {
        for name in Self.readable {
            let original = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: try Self.fixture("\(name).onnx")))
            let written = try Onnx_ModelProto(serializedBytes: try ONNXModelFile.encode(try Self.load(name)))
            XCTAssertEqual(
                written.graph.output.map { $0.type.tensorType.shape.dim.first },
                original.graph.output.map { $0.type.tensorType.shape.dim.first }, name)
        }
    }

    /// Pruned fixtures written as ONNX and read back give the pruned graph's outputs.
    func testPrunedFixtures_writtenAndReadBack_giveThePrunedOutputs() throws {
        for name in Self.readable {
            let contents = try Self.load(name)
            var plan = PruningPlan(template: try Surgeon.standard.analyze(contents.graph))
            for k in plan.groups.indices where plan.groups[k].prunable && plan.groups[k].size > 1 {
                plan.groups[k].delete = Array(stride(from: 0, to: plan.groups[k].size, by: 2))
            }
            XCTAssertGreaterThan(plan.deletedCount, 0, name)
            let pruned = try Surgeon.standard.apply(plan, to: contents.graph)
            let bytes = try ONNXModelFile.encode(ModelContents(graph: pruned, metadata: contents.metadata))
            let again = try ONNXModelFile.decode(
                bytes, model: URL(fileURLWithPath: "/nonexistent/p.onnx"), registry: .standard)
            let x = try Self.input(name, for: contents)
            assertClose(
                try again.graph.predict([x])[0], try pruned.predict([x])[0],
                tolerance: 1e-5, name)
            XCTAssertLessThan(again.graph.parameterCount, contents.graph.parameterCount, name)
        }
    }

    /// A few training steps lower the loss of an imported model.
    func testImportedModels_train() throws {
        for name in Self.readable {
            let contents = try Self.load(name)
            var graph = contents.graph
            let x = try Self.input(name, for: contents)
            let classes = graph.shapes[graph.outputNodeIndices[0]].last ?? 1
            let batch = try LabeledData(images: x, labels: (0..<x.shape[0]).map { $0 % classes })
            let loss = SoftmaxCrossEntropy(
                fromLogits: !graph.nodes[graph.outputNodeIndices[0]].layer.producesProbabilities)
            var optimizer = Optimizer(
                settings: OptimizerSettings(kind: .sgd, momentum: 0, nesterov: false, weightDecay: 0))
            var losses: [Double] = []
            for _ in 0..<8 {
                let (result, _) = try Trainer.step(
                    &graph, optimizer: &optimizer, batch: batch, loss: loss, learningRate: 0.05,
                    context: ForwardContext(training: true, seed: 7))
                losses.append(Double(result.loss))
            }
            XCTAssertLessThan(losses[7], losses[0], "\(name): \(losses)")
        }
    }

    /// A torch export whose BatchNorms were folded gets them back (identity, outputs unchanged),
    /// written as BatchNormalization nodes.
    func testFoldedBatchNorms_areGivenBackAndWrittenAsNodes() throws {
        let contents = try Self.load("legacy_cnn")
        let (graph, added) = try BatchNormInsertion.inserting(into: contents.graph)
        XCTAssertEqual(added.count, 4)
        let x = try Self.input("legacy_cnn", for: contents)
        XCTAssertEqual(try graph.predict([x])[0].scalars, try contents.graph.predict([x])[0].scalars)
        let bytes = try ONNXModelFile.encode(ModelContents(graph: graph, metadata: contents.metadata))
        let proto = try Onnx_ModelProto(serializedBytes: bytes)
        XCTAssertEqual(proto.graph.node.filter { $0.opType == "BatchNormalization" }.count, 4)
        let again = try ONNXModelFile.decode(
            bytes, model: URL(fileURLWithPath: "/nonexistent/b.onnx"), registry: .standard)
        XCTAssertEqual(try again.graph.predict([x])[0].scalars, try graph.predict([x])[0].scalars)
    }

    /// External data (torch 2.13's default exporter) is read from beside the model.
    func testDynamoExport_readsItsExternalData() throws {
        let url = try Self.fixture("dynamo_cnn.onnx")
        let proto = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: url))
        XCTAssertTrue(proto.graph.initializer.contains { $0.dataLocation == .external })
        XCTAssertNoThrow(try Self.load("dynamo_cnn"))
    }
}
