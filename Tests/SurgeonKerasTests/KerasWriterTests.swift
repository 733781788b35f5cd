import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonKeras
import SurgeonTestSupport
import XCTest

/// Writing `.keras`: graphs surgeon built itself and pruned Keras models come back exactly.
final class KerasWriterTests: XCTestCase {
    /// A graph with two inputs and two outputs, built in Swift (no Keras arguments to keep):
    /// the inputs keep their order, the outputs too.
    func testGraphBuiltInSwift_withTwoInputsAndOutputs_roundTrips() throws {
        var b = GraphBuilder()
        let image = b.add(InputLayer(shape: [6, 6, 3]), name: "image")
        let extra = b.add(InputLayer(shape: [6, 6, 2]), name: "extra")
        let c1 = b.add(
            Conv2D(filters: 4, kernelSize: [3, 3], padding: .same, activation: .relu), name: "c1", inputs: [image])
        let c2 = b.add(Conv2D(filters: 4, kernelSize: [1, 1]), name: "c2", inputs: [extra])
        let sum = b.add(Add(), name: "sum", inputs: [c1, c2])
        let gap = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [sum])
        let head = b.add(Dense(units: 3, activation: .softmax), name: "head", inputs: [gap])
        let aux = b.add(Dense(units: 2), name: "aux", inputs: [gap])
        let graph = try b.build(outputs: [head, aux], seed: 4)
        let again = try KerasModelFile.decodeArchive(
            try KerasModelFile.encodeArchive(ModelFile.Contents(graph: graph)),
            path: "two.keras", registry: .standard)
        XCTAssertEqual(again.graph.inputNodeIndices.map { again.graph.nodes[$0].name }, ["image", "extra"])
        XCTAssertEqual(again.graph.outputNames, ["head", "aux"])
        var random = SeededRandom(seed: 1)
        var x = Tensor(shape: [2, 6, 6, 3]), y = Tensor(shape: [2, 6, 6, 2])
        for i in 0..<x.count { x.scalars[i] = random.nextUnitFloat() }
        for i in 0..<y.count { y.scalars[i] = random.nextUnitFloat() }
        let expected = try graph.predict([x, y]), actual = try again.graph.predict([x, y])
        XCTAssertEqual(expected.map(\.scalars), actual.map(\.scalars))
    }

    /// A layer no Keras class stands for (an ONNX channel split) is refused by name, not written.
    func testSurgeonOnlyLayer_isRefusedByName() throws {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [4, 4, 4]), name: "image")
        let c = b.add(Conv2D(filters: 4, kernelSize: [1, 1]), name: "conv", inputs: [x])
        let split = b.add(try ChannelGather.range(0..<2), name: "/split/Split", inputs: [c])
        let gap = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [split])
        let head = b.add(Dense(units: 2), name: "head", inputs: [gap])
        let graph = try b.build(outputs: [head], seed: 2)
        XCTAssertThrowsError(try KerasModelFile.encodeArchive(ModelFile.Contents(graph: graph), source: "s.keras")) {
            let message = "\($0)"
            for fragment in ["s.keras", "layer '/split/Split' (ChannelGather)", "Keras has no layer class", ".onnx"] {
                XCTAssertTrue(message.contains(fragment), message)
            }
        }
    }

    /// A grouped Conv2D is written with its Keras `groups` key and its `[kh, kw, in / groups, out]`
    /// kernel, and reads back with the same outputs, also after pruning.
    func testGroupedConv_roundTripsItsGroupsKey() throws {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [6, 6, 4]), name: "image")
        let c = b.add(Conv2D(filters: 6, kernelSize: [3, 3], padding: .same, groups: 2), name: "gconv", inputs: [x])
        let bn = b.add(BatchNormalization(), name: "bn", inputs: [c])
        let gap = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [bn])
        let head = b.add(Dense(units: 3), name: "head", inputs: [gap])
        let graph = try b.build(outputs: [head], seed: 5)
        let input = Tensor.random(shape: [2, 6, 6, 4], seed: 6)
        var plan = PruningPlan(template: try Surgeon.standard.analyze(graph))
        let group = try XCTUnwrap(plan.groups.first { $0.members.first?.layer == "gconv" })
        plan.groups[group.id].delete = [0, 4]
        for model in [graph, try Surgeon.standard.apply(plan, to: graph)] {
            let again = try KerasModelFile.decodeArchive(
                try KerasModelFile.encodeArchive(ModelFile.Contents(graph: model)), path: "grouped.keras",
                registry: .standard)
            let layer = try XCTUnwrap(again.graph.nodes.first { $0.name == "gconv" }?.layer as? Conv2D)
            XCTAssertEqual(layer.config["groups"], 2)
            XCTAssertEqual(layer.weights[0].shape, [3, 3, 2, model.shapes[1][2]])
            XCTAssertEqual(try again.graph.predict([input])[0].scalars, try model.predict([input])[0].scalars)
        }
    }

    /// ONNX node names (`/layer1/conv1/Conv`) have '/', which Keras 3 refuses in a layer name:
    /// the writer makes them '_' and the model comes back with the same outputs.
    func testSlashesInLayerNames_becomeUnderscores() throws {
        var b = GraphBuilder()
        let input = b.add(InputLayer(shape: [4, 4, 2]), name: "input")
        let conv = b.add(Conv2D(filters: 3, kernelSize: [1, 1]), name: "/conv1/Conv", inputs: [input])
        let taken = b.add(ReLU(), name: "_conv1_Conv", inputs: [conv])
        let graph = try b.build(outputs: [taken], seed: 2)
        let again = try KerasModelFile.decodeArchive(
            try KerasModelFile.encodeArchive(ModelFile.Contents(graph: graph)), path: "s.keras", registry: .standard)
        XCTAssertEqual(again.graph.nodes.map(\.name).sorted(), ["_conv1_Conv", "_conv1_Conv_1", "input"])
        var x = Tensor(shape: [1, 4, 4, 2])
        for i in 0..<x.count { x.scalars[i] = Float(i % 5) - 2 }
        XCTAssertEqual(try again.graph.predict([x])[0].scalars, try graph.predict([x])[0].scalars)
    }

    /// A Keras model pruned by surgeon is written and read back with the pruned graph's outputs
    /// (the check that Keras itself agrees is scripts/keras_roundtrip.py).
    func testPrunedKerasModel_roundTripsWithItsOutputs() throws {
        for name in ["se_block", "separable_block", "dense_block", "decoder"] {
            let contents = try KerasModelFile.load(
                contentsOf: try KerasFixtureTests.fixture("\(name).keras"), registry: .standard)
            var plan = PruningPlan(template: try Surgeon.standard.analyze(contents.graph))
            for k in plan.groups.indices where plan.groups[k].prunable && plan.groups[k].size > 1 {
                plan.groups[k].delete = Array(stride(from: 0, to: plan.groups[k].size, by: 2))
            }
            XCTAssertGreaterThan(plan.deletedCount, 0, name)
            let pruned = try Surgeon.standard.apply(plan, to: contents.graph)
            let bytes = try KerasModelFile.encodeArchive(ModelFile.Contents(graph: pruned, metadata: contents.metadata))
            let again = try KerasModelFile.decodeArchive(bytes, path: name, registry: .standard)
            let x = try KerasFixtureTests.tensor("\(name).input.npy")
            XCTAssertEqual(try pruned.predict([x])[0].scalars, try again.graph.predict([x])[0].scalars, name)
            XCTAssertLessThan(again.graph.parameterCount, contents.graph.parameterCount, name)
        }
    }

    /// The pruned layers keep their original Keras arguments apart from what pruning changed.
    func testPrunedConv_keepsItsOriginalArguments() throws {
        let contents = try KerasModelFile.load(
            contentsOf: try KerasFixtureTests.fixture("sequential.keras"), registry: .standard)
        let origin = try XCTUnwrap(KerasOrigin(metadata: contents.metadata))
        let conv = try XCTUnwrap(contents.graph.nodes.first { $0.layer.kerasClassName == "Conv2D" })
        let original = try XCTUnwrap(origin.layers[conv.name])
        XCTAssertNotNil(original.config["kernel_initializer"])
        var plan = PruningPlan(template: try Surgeon.standard.analyze(contents.graph))
        for k in plan.groups.indices where plan.groups[k].prunable { plan.groups[k].delete = [0] }
        let pruned = try Surgeon.standard.apply(plan, to: contents.graph)
        let bytes = try KerasModelFile.encodeArchive(ModelFile.Contents(graph: pruned, metadata: contents.metadata))
        let members = try ZipMembers.read(bytes)
        let config = try XCTUnwrap(members.first { $0.name == "config.json" }?.data)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: config) as? [String: Any])
        let layers = try XCTUnwrap((json["config"] as? [String: Any])?["layers"] as? [[String: Any]])
        let written = try XCTUnwrap(layers.first { $0["name"] as? String == conv.name }?["config"] as? [String: Any])
        XCTAssertEqual(
            written["filters"] as? Int,
            (original.config["filters"].flatMap { if case let .number(n) = $0 { Int(n) } else { nil } } ?? 0) - 1)
        XCTAssertNotNil(written["kernel_initializer"])
        XCTAssertEqual(members.map(\.name), ["metadata.json", "config.json", "model.weights.h5"])
    }
}
