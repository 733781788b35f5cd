import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonTestSupport
import XCTest

@testable import SurgeonONNX

/// Writing ONNX: every standard layer type, in random graphs and in each type's own examples,
/// is written as NCHW ONNX and read back with the same outputs (that onnxruntime agrees is
/// checked outside the suite by scripts/onnx_check.py and scripts/onnx_torchvision.py).
final class ONNXWriterTests: XCTestCase {
    static func roundTrip(_ graph: Graph, metadata: [String: ConfigValue] = [:]) throws -> ModelContents {
        let bytes = try ONNXModelFile.encode(ModelContents(graph: graph, metadata: metadata))
        return try ONNXModelFile.decode(bytes, model: URL(fileURLWithPath: "/nonexistent/m.onnx"), registry: .standard)
    }

    static func randomInput(_ graph: Graph, batch: Int = 2, seed: UInt64 = 3) -> Tensor {
        var random = SeededRandom(seed: seed)
        var x = Tensor(shape: [batch] + graph.shapes[graph.inputNodeIndices[0]])
        for i in 0..<x.count { x.scalars[i] = random.nextUnitFloat() * 2 - 1 }
        return x
    }

    /// The surgery property test's random graphs (every registered type with a rule appears in
    /// them) come back from ONNX with the same outputs.
    func testRandomGraphs_roundTripThroughONNX() throws {
        var types: Set<String> = []
        for seed in UInt64(0)..<80 {
            let graph = try RandomGraphs.make(seed: seed)
            guard graph.inputNodeIndices.count == 1 else { continue }
            let again: ModelContents
            do { again = try Self.roundTrip(graph) } catch let ONNXError.layer(_, _, type, message) {
                // The one refused form (see testEveryLayerExample_roundTrips).
                XCTAssertEqual(type, "ReLU", message)
                XCTAssertTrue(message.contains("threshold and negative_slope"), message)
                continue
            }
            types.formUnion(graph.nodes.map(\.layer.kerasClassName))
            let x = Self.randomInput(graph)
            let expected = try graph.predict([x]), actual = try again.graph.predict([x])
            XCTAssertEqual(expected.count, actual.count, "seed \(seed)")
            for (k, (a, b)) in zip(expected, actual).enumerated() {
                assertClose(b, a, tolerance: 1e-5, "seed \(seed), output \(k)")
            }
        }
        let missing = Set(ONNXGraphWriter.writableTypes).subtracting(types).subtracting(["InputLayer"])
        XCTAssertTrue(missing.isEmpty, "types the random graphs never wrote: \(missing.sorted())")
    }

    /// Every example of every built-in type, after a convolution, round-trips on its own; the
    /// one form ONNX has no operator for (a ReLU with both a threshold and a negative slope) is
    /// refused by name.
    func testEveryLayerExample_roundTrips() throws {
        var refused: [String] = []
        for type in LayerRegistry.builtinTypes where type.kerasClassName != "InputLayer" {
            for example in type.examples where example.inputForms.allSatisfy({ $0 == .image }) {
                let shapes = example.inputShapes(height: 6, width: 5)
                var b = GraphBuilder()
                let input = b.add(InputLayer(shape: [6, 5, 3]), name: "input")
                var feeds: [String] = []
                for (k, shape) in shapes.enumerated() {
                    feeds.append(
                        b.add(
                            Conv2D(filters: shape[2], kernelSize: [3, 3], padding: .same, activation: .relu),
                            name: "feed\(k)", inputs: [input]))
                }
                let layer = try example.make()
                let out = b.add(layer, name: "layer", inputs: feeds)
                let graph = try b.build(outputs: [out], seed: 5)
                let again: ModelContents
                do { again = try Self.roundTrip(graph) } catch let ONNXError.layer(_, layer, type, message) {
                    XCTAssertEqual(layer, "layer")
                    XCTAssertTrue(message.contains("has no ONNX form"), message)
                    refused.append("\(type): \(message)")
                    continue
                }
                let x = Self.randomInput(graph)
                assertClose(try again.graph.predict([x])[0], try graph.predict([x])[0], tolerance: 1e-5, example.name)
            }
        }
        XCTAssertEqual(refused.count, 1, "\(refused)")
        XCTAssertTrue(
            refused.allSatisfy { $0.hasPrefix("ReLU: ReLU with both threshold and negative_slope") }, "\(refused)")
    }

    /// A Flatten read only by Dense layers is written in torch's NCHW order with the Dense
    /// kernel's rows permuted; a Flatten read by anything else goes through a Transpose.
    func testSpatialFlatten_isWrittenInTheOrderItsReadersNeed() throws {
        var b = GraphBuilder()
        let input = b.add(InputLayer(shape: [3, 2, 4]), name: "input")
        let conv = b.add(Conv2D(filters: 5, kernelSize: [1, 1]), name: "conv", inputs: [input])
        let flat = b.add(Flatten(), name: "flat", inputs: [conv])
        let head = b.add(Dense(units: 3), name: "head", inputs: [flat])
        let graph = try b.build(outputs: [head], seed: 2)
        let proto = try Onnx_ModelProto(serializedBytes: try ONNXModelFile.encode(ModelContents(graph: graph)))
        XCTAssertFalse(proto.graph.node.contains { $0.opType == "Transpose" })
        let again = try Self.roundTrip(graph)
        let x = Self.randomInput(graph)
        assertClose(try again.graph.predict([x])[0], try graph.predict([x])[0], tolerance: 1e-5)
    }

    /// Written files follow the writer's rules: IR 8 / opset 17, a named graph, every attribute
    /// typed, unique node names, a symbolic batch, no value_info.
    func testWrittenFiles_followTheWritersRules() throws {
        let contents = try ONNXFixtureTests.load("legacy_mobile")
        let proto = try Onnx_ModelProto(serializedBytes: try ONNXModelFile.encode(contents))
        XCTAssertEqual(proto.irVersion, 8)
        XCTAssertEqual(proto.opsetImport.map(\.version), [17])
        XCTAssertFalse(proto.graph.name.isEmpty)
        XCTAssertTrue(proto.graph.valueInfo.isEmpty)
        XCTAssertTrue(proto.graph.node.allSatisfy { $0.attribute.allSatisfy { $0.type != .undefined } })
        XCTAssertEqual(Set(proto.graph.node.map(\.name)).count, proto.graph.node.count)
        XCTAssertEqual(proto.graph.input.map(\.name), ["input"])
        XCTAssertEqual(proto.graph.output.map(\.name), ["logits"])
        guard case .dimParam? = proto.graph.input[0].type.tensorType.shape.dim[0].value else {
            return XCTFail("the batch is not symbolic")
        }
    }
}
