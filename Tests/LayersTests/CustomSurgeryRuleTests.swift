import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonTestSupport
import XCTest

/// A layer type defined outside the project: a learned per-channel scale
/// (`PerChannelScaleLayer` gives its math and surgery rule). Adopting `Layer` and `SurgeryRule`
/// in one place and registering it on a copy of the registry is all it takes.
struct ChannelScale: PerChannelScaleLayer {
    static let kerasClassName = "ChannelScale"
    static var examples: [LayerExample] { [LayerExample("ChannelScale") { ChannelScale() }] }
    var weights: [Tensor] = []
    init() {}
}

final class CustomSurgeryRuleTests: XCTestCase {
    private func surgeon() throws -> Surgeon {
        var layers = LayerRegistry.standard
        try layers.register(ChannelScale.self)
        return Surgeon(registry: layers)
    }

    func testUserDefinedRule_passesTheGenericChecker() throws {
        try checkSurgeryRule(ChannelScale.examples[0], surgeon: surgeon())
    }

    func testUserDefinedLayer_roundTripsThroughTheModelFile() throws {
        var layers = LayerRegistry.standard
        try layers.register(ChannelScale.self)
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [3, 3, 2]), name: "input")
        let c = b.add(Conv2D(filters: 3, kernelSize: [1, 1]), name: "conv", inputs: [x])
        let s = b.add(ChannelScale(), name: "scale", inputs: [c])
        let graph = try b.build(outputs: [s])
        let bytes = try ModelFile.encode(ModelFile.Contents(graph: graph))
        let loaded = try ModelFile.decode(bytes, source: "custom.surgeon", registry: layers)
        XCTAssertEqual(loaded.graph.nodes.map(\.layer.kerasClassName), ["InputLayer", "Conv2D", "ChannelScale"])
    }

    func testUnregisteredLayerType_stopsTheSurgeonNamingLayerTypeInputsAndSupportedTypes() throws {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [3, 3, 2]), name: "input")
        let c = b.add(Conv2D(filters: 3, kernelSize: [1, 1]), name: "conv", inputs: [x])
        let s = b.add(ChannelScale(), name: "scale", inputs: [c])
        let graph = try b.build(outputs: [s])
        XCTAssertThrowsError(try Surgeon.standard.analyze(graph)) { error in
            let text = "\(error)"
            XCTAssertEqual(
                text,
                "layer 'scale' of type ChannelScale (reading 'conv') has no surgery rule, so the model cannot be "
                    + "pruned; supported types: "
                    + LayerRegistry.standard.surgeryRuleNames.joined(separator: ", "))
            let listed = text.components(separatedBy: "supported types: ").last?.components(separatedBy: ", ") ?? []
            for name in ["Conv2D", "Dense", "DepthwiseConv2D", "SeparableConv2D"] {
                XCTAssertTrue(listed.contains(name), text)
            }
        }
    }

    func testOneRegistration_coversReadingComputingAndSurgery() throws {
        var layers = LayerRegistry.standard
        XCTAssertFalse(layers.hasSurgeryRule("ChannelScale"))
        try layers.register(ChannelScale.self)
        XCTAssertTrue(layers.hasSurgeryRule("ChannelScale"))
        XCTAssertTrue(layers.surgeryRuleNames.contains("ChannelScale"))
        XCTAssertNotNil(try layers.makeLayer(className: "ChannelScale", config: LayerConfig()) as? ChannelScale)
    }
}
