import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonKeras
import SurgeonTestSupport
import XCTest

/// The Swift side of `Fixtures/keras/custom/channel_gate.keras`'s custom `ChannelGate` class
/// (`y[..., c] = x[..., c] * scale[c]`), as an extension package would register it.
private struct GateForTests: PerChannelScaleLayer {
    static let kerasClassName = "ChannelGate"
    var weights: [Tensor] = []
    init() {}
}

/// A custom Keras class (`registered_name: "surgeon_example>ChannelGate"`) loads once a Swift
/// type with its class name is registered, computes what Keras computed, and is written back
/// with its module and registered name so that Keras finds the same class again.
final class KerasCustomClassTests: XCTestCase {
    private func registry() throws -> LayerRegistry {
        var layers = LayerRegistry.standard
        // A built-in ChannelGate (the new-layer-rule check adds one) reads the file just as well.
        if layers.type(named: GateForTests.kerasClassName) == nil { try layers.register(GateForTests.self) }
        return layers
    }

    func testCustomClass_isRefusedUntilRegistered() throws {
        let url = try KerasFixtureTests.fixture("custom/channel_gate.keras")
        guard LayerRegistry.standard.type(named: "ChannelGate") == nil else { return }
        XCTAssertThrowsError(try KerasModelFile.load(contentsOf: url, registry: .standard)) { error in
            XCTAssertEqual(
                "\(error)",
                "\(url.path): layer 'gate' (ChannelGate): a custom class ('surgeon_example>ChannelGate') defined in "
                    + "Python, which surgeon never runs; register a Swift layer type named 'ChannelGate' (an extension "
                    + "package, "
                    + "README \"Extending surgeon\") to load it")
        }
    }

    func testRegisteredCustomClass_loadsAndMatchesKeras() throws {
        let contents = try KerasModelFile.load(
            contentsOf: try KerasFixtureTests.fixture("custom/channel_gate.keras"), registry: registry())
        try contents.graph.checkInvariants()
        XCTAssertEqual(
            contents.graph.nodes.map(\.layer.kerasClassName),
            ["InputLayer", "Conv2D", "ChannelGate", "Conv2D", "GlobalAveragePooling2D", "Dense"])
        let x = try KerasFixtureTests.tensor("custom/channel_gate.input.npy")
        let expected = try KerasFixtureTests.tensor("custom/channel_gate.output.npy")
        let y = try contents.graph.predict([x])[0]
        assertClose(y, try expected.reshaped(y.shape), tolerance: 2e-4, "channel_gate.keras")
    }

    func testCustomClass_isWrittenBackWithItsRegisteredName_alsoAfterPruning() throws {
        let layers = try registry()
        let contents = try KerasModelFile.load(
            contentsOf: try KerasFixtureTests.fixture("custom/channel_gate.keras"), registry: layers)
        let surgeon = Surgeon(registry: layers)
        let analysis = try surgeon.analyze(contents.graph)
        var plan = PruningPlan(template: analysis)
        let gated = try XCTUnwrap(plan.groups.firstIndex { $0.members.contains { $0.layer == "gate" } })
        plan.groups[gated].delete = [1, 4, 6]
        let pruned = try surgeon.apply(plan, to: contents.graph)
        let bytes = try KerasModelFile.encodeArchive(ModelContents(graph: pruned, metadata: contents.metadata))
        let members = try ZipMembers.read(bytes, only: ["config.json"])
        let config = try XCTUnwrap(members.first { $0.name == "config.json" }).data
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: config) as? [String: Any])
        let entries = try XCTUnwrap((json["config"] as? [String: Any])?["layers"] as? [[String: Any]])
        let gate = try XCTUnwrap(entries.first { $0["name"] as? String == "gate" })
        XCTAssertEqual(gate["registered_name"] as? String, "surgeon_example>ChannelGate")
        XCTAssertTrue(gate["module"] is NSNull)
        let conv = try XCTUnwrap(entries.first { $0["name"] as? String == "conv1" })
        XCTAssertEqual(conv["module"] as? String, "keras.layers")
        XCTAssertTrue(conv["registered_name"] is NSNull)
        let back = try KerasModelFile.decodeArchive(bytes, path: "pruned.keras", registry: layers)
        XCTAssertEqual(back.graph.nodes.first { $0.name == "gate" }?.layer.weights[0].shape, [5])
        let x = try KerasFixtureTests.tensor("custom/channel_gate.input.npy")
        assertClose(try back.graph.predict([x])[0], try pruned.predict([x])[0], tolerance: 1e-6, "pruned round trip")
    }
}
