import Foundation
import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

@testable import SurgeonONNX

/// Channel splits (`Split`, `Slice`, `Gather` on axis 1) and ShuffleNet's channel shuffle read
/// as `ChannelGather`, give the values the ONNX operators define, prune and write back.
final class ONNXChannelOpsTests: XCTestCase {
    /// input [N, 4, 2, 2] -> `nodes` -> each of `outputs` (per-sample file shapes).
    static func model(
        opset: Int64 = 17, nodes: [Onnx_NodeProto], outputs: [(String, [Int])], initializers: [Onnx_TensorProto] = []
    ) -> Onnx_ModelProto {
        ONNXTestModel.model(opset: opset, input: [4, 2, 2], nodes: nodes, outputs: outputs, initializers: initializers)
    }

    static func node(
        _ op: String, _ name: String, inputs: [String], outputs: [String], attributes: [Onnx_AttributeProto] = []
    ) -> Onnx_NodeProto {
        ONNXTestModel.node(op, name, inputs: inputs, outputs: outputs, attributes: attributes)
    }

    func decode(_ m: Onnx_ModelProto) throws -> ModelContents {
        try ONNXModelFile.decode(
            try m.serializedBytes(), model: URL(fileURLWithPath: "/nonexistent/m.onnx"), registry: .standard)
    }

    /// An NCHW batch of 2 with value `100·n + 10·c + h·2 + w` at [n, c, h, w].
    static let nchw: Tensor = {
        var t = Tensor(shape: [2, 4, 2, 2])
        for i in 0..<t.count {
            let (n, c, p) = (i / 16, (i / 4) % 4, i % 4)
            t.scalars[i] = Float(100 * n + 10 * c + p)
        }
        return t
    }()

    /// The model's outputs for `nchw`, each back in the file's NCHW layout.
    func run(_ contents: ModelContents) throws -> [Tensor] {
        let layout = DataLayout(metadata: contents.metadata)
        return try contents.graph.predict([layout.toInternal(Self.nchw)]).map { layout.toFile($0) }
    }

    /// The channels `channels` of `nchw`, in that order.
    static func channels(_ channels: [Int]) -> [Float] {
        var out: [Float] = []
        for n in 0..<2 { for c in channels { for p in 0..<4 { out.append(Float(100 * n + 10 * c + p)) } } }
        return out
    }

    func testSplit_inEveryOpsetForm_givesTheChannelRanges() throws {
        // Opset 11: the split attribute.
        let attribute = Self.model(
            opset: 11,
            nodes: [
                Self.node(
                    "Split", "split", inputs: ["input"], outputs: ["a", "b"],
                    attributes: [ONNXProto.attribute("axis", int: 1), ONNXProto.attribute("split", ints: [1, 3])])
            ], outputs: [("a", [1, 2, 2]), ("b", [3, 2, 2])])
        // Opset 13: the split input.
        let input = Self.model(
            opset: 13,
            nodes: [
                Self.node(
                    "Split", "split", inputs: ["input", "sizes"], outputs: ["a", "b"],
                    attributes: [ONNXProto.attribute("axis", int: -3)])
            ], outputs: [("a", [1, 2, 2]), ("b", [3, 2, 2])],
            initializers: [ONNXProto.tensor("sizes", dims: [2], ints: [1, 3])])
        for m in [attribute, input] {
            let contents = try decode(m)
            let y = try run(contents)
            XCTAssertEqual(y[0].scalars, Self.channels([0]))
            XCTAssertEqual(y[1].scalars, Self.channels([1, 2, 3]))
            XCTAssertEqual(
                contents.graph.nodes.map(\.layer.kerasClassName), ["InputLayer", "ChannelGather", "ChannelGather"])
        }
        // Opset 18: num_outputs, chunks of ceil(C / n), the last one smaller (torch.chunk), here
        // of the first three channels.
        let chunks = Self.model(
            opset: 18,
            nodes: [
                Self.node("Slice", "three", inputs: ["input", "zero", "end", "one"], outputs: ["s"]),
                Self.node(
                    "Split", "split", inputs: ["s"], outputs: ["a", "b"],
                    attributes: [ONNXProto.attribute("axis", int: 1), ONNXProto.attribute("num_outputs", int: 2)]),
            ], outputs: [("a", [2, 2, 2]), ("b", [1, 2, 2])],
            initializers: [
                ONNXProto.tensor("zero", dims: [1], ints: [0]), ONNXProto.tensor("end", dims: [1], ints: [3]),
                ONNXProto.tensor("one", dims: [1], ints: [1]),
            ])
        let y = try run(try decode(chunks))
        XCTAssertEqual(y.map(\.scalars), [Self.channels([0, 1]), Self.channels([2])])
    }

    func testSliceWithAStep_andGather_selectChannels() throws {
        let m = Self.model(
            nodes: [
                Self.node("Slice", "slice", inputs: ["input", "starts", "ends", "axes", "steps"], outputs: ["s"]),
                Self.node(
                    "Gather", "gather", inputs: ["input", "indices"], outputs: ["g"],
                    attributes: [ONNXProto.attribute("axis", int: 1)]),
            ], outputs: [("s", [2, 2, 2]), ("g", [3, 2, 2])],
            initializers: [
                ONNXProto.tensor("starts", dims: [1], ints: [1]), ONNXProto.tensor("ends", dims: [1], ints: [100]),
                ONNXProto.tensor("axes", dims: [1], ints: [1]), ONNXProto.tensor("steps", dims: [1], ints: [2]),
                ONNXProto.tensor("indices", dims: [3], ints: [3, -4, 3]),
            ])
        let y = try run(try decode(m))
        XCTAssertEqual(y[0].scalars, Self.channels([1, 3]))
        XCTAssertEqual(y[1].scalars, Self.channels([3, 0, 3]))
    }

    /// ShuffleNet's Reshape [N, 2, 2, H, W] -> Transpose [0, 2, 1, 3, 4] -> Reshape [N, 4, H, W]
    /// is one ChannelGather: channels [0, 2, 1, 3].
    func testChannelShuffle_isOnePermutation() throws {
        let m = Self.model(
            nodes: [
                Self.node("Reshape", "r1", inputs: ["input", "grouped"], outputs: ["a"]),
                Self.node(
                    "Transpose", "t", inputs: ["a"], outputs: ["b"],
                    attributes: [ONNXProto.attribute("perm", ints: [0, 2, 1, 3, 4])]),
                Self.node("Reshape", "shuffle", inputs: ["b", "back"], outputs: ["y"]),
            ], outputs: [("y", [4, 2, 2])],
            initializers: [
                ONNXProto.tensor("grouped", dims: [5], ints: [0, 2, 2, 2, 2]),
                ONNXProto.tensor("back", dims: [4], ints: [0, -1, 2, 2]),
            ])
        let contents = try decode(m)
        XCTAssertEqual(contents.graph.nodes.map(\.name), ["input", "shuffle"])
        XCTAssertEqual(try run(contents)[0].scalars, Self.channels([0, 2, 1, 3]))
        // Written back in the same three-node form.
        let proto = try Onnx_ModelProto(serializedBytes: try ONNXModelFile.encode(contents))
        XCTAssertEqual(proto.graph.node.map(\.opType), ["Reshape", "Transpose", "Reshape"])
    }

    /// A 0 in a shuffle's Reshape target copies the input's extent on the same axis, as ONNX
    /// defines it: on a [N, 4, 2, 3] image, [0, 2, 2, 0, 3] asks for W (3) on axis 3, not H, so
    /// it is no shuffle and is refused.
    func testZeroInAShuffleTarget_copiesTheSameAxis() throws {
        let grouped = { (target: [Int]) in
            ONNXTestModel.model(
                input: [4, 2, 3],
                nodes: [
                    Self.node("Reshape", "r1", inputs: ["input", "grouped"], outputs: ["a"]),
                    Self.node(
                        "Transpose", "t", inputs: ["a"], outputs: ["b"],
                        attributes: [ONNXProto.attribute("perm", ints: [0, 2, 1, 3, 4])]),
                    Self.node("Reshape", "shuffle", inputs: ["b", "back"], outputs: ["y"]),
                ], outputs: [("y", [4, 2, 3])],
                initializers: [
                    ONNXProto.tensor("grouped", dims: [5], ints: target),
                    ONNXProto.tensor("back", dims: [4], ints: [0, 4, 2, 3]),
                ])
        }
        XCTAssertEqual(try decode(grouped([0, 2, 2, 2, 3])).graph.nodes.map(\.name), ["input", "shuffle"])
        XCTAssertThrowsError(try decode(grouped([0, 2, 2, 0, 3]))) {
            XCTAssertTrue("\($0)".contains("only as the start of a channel shuffle"), "\($0)")
        }
    }

    func testChannelOps_thatSurgeonCannotRead_areRefusedByName() {
        func refused(_ m: Onnx_ModelProto, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try decode(m), line: line) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(error)", line: line)
            }
        }
        refused(
            Self.model(
                nodes: [
                    Self.node(
                        "Split", "split", inputs: ["input"], outputs: ["a", "b"],
                        attributes: [ONNXProto.attribute("axis", int: 2)])
                ], outputs: [("a", [4, 1, 2])]),
            "Split on axis 2")
        refused(
            Self.model(
                opset: 13,
                nodes: [
                    Self.node(
                        "Split", "split", inputs: ["input", "sizes"], outputs: ["a", "b"],
                        attributes: [ONNXProto.attribute("axis", int: 1)])
                ], outputs: [("a", [1, 2, 2])], initializers: [ONNXProto.tensor("sizes", dims: [2], ints: [1, 2])]),
            "split sizes [1, 2] for 2 outputs of 4 channels")
        // Sizes near 2^63 are refused, not summed into an overflow.
        refused(
            Self.model(
                opset: 13,
                nodes: [
                    Self.node(
                        "Split", "split", inputs: ["input", "sizes"], outputs: ["a", "b"],
                        attributes: [ONNXProto.attribute("axis", int: 1)])
                ], outputs: [("a", [1, 2, 2])],
                initializers: [ONNXProto.tensor("sizes", dims: [2], ints: [Int.max, Int.max])]),
            "for 2 outputs of 4 channels")
        refused(
            Self.model(
                nodes: [
                    Self.node("Reshape", "r1", inputs: ["input", "grouped"], outputs: ["a"]),
                    Self.node(
                        "Transpose", "t", inputs: ["a"], outputs: ["b"],
                        attributes: [ONNXProto.attribute("perm", ints: [0, 1, 2, 4, 3])]),
                ], outputs: [("b", [2, 2, 2, 2])],
                initializers: [ONNXProto.tensor("grouped", dims: [5], ints: [0, 2, 2, 2, 2])]),
            "the Transpose must be [0, 2, 1, 3, 4]")
        refused(
            Self.model(
                nodes: [
                    Self.node(
                        "Gather", "gather", inputs: ["input", "indices"], outputs: ["g"],
                        attributes: [ONNXProto.attribute("axis", int: 1)])
                ], outputs: [("g", [1, 2, 2])], initializers: [ONNXProto.tensor("indices", dims: [1], ints: [4])]),
            "index 4 is outside the 4 channels")
    }

    /// The torch ShuffleNetV2 fixture: its chunks are ranges, its shuffles permutations, and
    /// pruning goes through them (the thinned shuffle is written as a Gather).
    func testShuffleNetFixture_prunesThroughItsShuffles() throws {
        let contents = try ONNXFixtureTests.load("legacy_shuffle")
        let gathers = contents.graph.nodes.compactMap { $0.layer as? ChannelGather }
        XCTAssertEqual(gathers.filter { ChannelShuffle.groups(of: $0.indices) == 2 }.count, 2)
        XCTAssertEqual(gathers.count, 4)
        let analysis = try Surgeon.standard.analyze(contents.graph)
        // Channel 0 of the first conv: the first unit's pass-through half loses it, its branch
        // keeps all four, so the 7 channels the shuffle gets are no regular shuffle any more.
        var plan = PruningPlan(template: analysis)
        let first = try XCTUnwrap(
            analysis.groups.first { $0.members.contains { $0.layer == "/conv1/conv1.0/Conv" && $0.role == .producer } })
        plan.groups[first.id].delete = [0]
        let pruned = try Surgeon.standard.apply(plan, to: contents.graph)
        let shuffle = try XCTUnwrap(pruned.index(of: "/stage2/stage2.0/Reshape_1"))
        XCTAssertLessThan(pruned.shapes[shuffle].last ?? 0, contents.graph.shapes[shuffle].last ?? 0)
        let bytes = try ONNXModelFile.encode(ModelContents(graph: pruned, metadata: contents.metadata))
        let proto = try Onnx_ModelProto(serializedBytes: bytes)
        XCTAssertTrue(proto.graph.node.contains { $0.opType == "Gather" })
        let x = try ONNXFixtureTests.input("legacy_shuffle", for: contents)
        let again = try ONNXModelFile.decode(
            bytes, model: URL(fileURLWithPath: "/nonexistent/p.onnx"), registry: .standard)
        assertClose(try again.graph.predict([x])[0], try pruned.predict([x])[0], tolerance: 1e-5, "pruned shuffle")
    }
}
