import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import XCTest

@testable import SurgeonKeras

/// The weight group surgeon computes for each layer is the one Keras wrote: Keras 3 puts the
/// layer's name on every `vars` group, so the files Keras saved check the order and naming
/// rules directly (a reader and writer that shared a wrong rule would still round-trip).
final class KerasWeightGroupTests: XCTestCase {
    private func members(_ name: String) throws -> [(name: String, data: Data)] {
        try ZipMembers.read(try Data(contentsOf: try KerasFixtureTests.fixture(name)))
    }

    func testComputedGroups_matchTheLayerNamesKerasWroteOnThem() throws {
        for name in KerasFixtureTests.kerasFixtures {
            let zip = try members("\(name).keras")
            let configData = try XCTUnwrap(zip.first { $0.name == "config.json" }?.data)
            let weights = try XCTUnwrap(zip.first { $0.name == "model.weights.h5" }?.data)
            let model = try KerasModelConfig(try JSONDecoder().decode(ConfigValue.self, from: configData), path: name)
            let groups = model.weightGroups
            let file = try HDF5File(image: weights, source: name)
            // Every layer of a Functional model has a group (InputLayers too); a Sequential's InputLayer has none.
            let expected = model.layers.filter { model.kind == .functional || $0.className != "InputLayer" }.map(\.name)
            XCTAssertEqual(Set(groups.keys), Set(expected), name)
            for layer in expected {
                let path = try XCTUnwrap(groups[layer])
                XCTAssertTrue(file.root.exists(path), "\(name): no group \(path) for layer \(layer)")
                XCTAssertEqual(try file.root.group(path).stringAttribute("name"), layer, "\(name): \(path)")
            }
        }
    }

    /// Keras recomputes the layer order from the graph, so a config listing its layers in
    /// reverse loads the same (KERAS-FORMAT 2.9); so must it in surgeon.
    func testReversedLayerList_loadsTheSameModel() throws {
        for name in ["mobilenetv2_narrow", "dense_block", "se_block"] {
            var zip = try members("\(name).keras")
            let index = try XCTUnwrap(zip.firstIndex { $0.name == "config.json" })
            guard case var .object(top) = try JSONDecoder().decode(ConfigValue.self, from: zip[index].data),
                case var .object(config)? = top["config"], case let .array(layers)? = config["layers"]
            else {
                return XCTFail("\(name): unexpected config layout")
            }
            config["layers"] = .array(layers.reversed())
            top["config"] = .object(config)
            zip[index].data = try JSONEncoder().encode(ConfigValue.object(top))
            let reversed = try KerasModelFile.decodeArchive(try ZipMembers.write(zip), path: name, registry: .standard)
            let original = try KerasModelFile.load(
                contentsOf: try KerasFixtureTests.fixture("\(name).keras"), registry: .standard)
            let x = try KerasFixtureTests.tensor("\(name).input.npy")
            XCTAssertEqual(try reversed.graph.predict([x])[0].scalars, try original.graph.predict([x])[0].scalars, name)
        }
    }
}
