import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// The random graphs of the surgery property test (RandomGraphsSurgeryTests) reach every registered
/// type that has an image example (through the registry arm) and the element-wise, merge and
/// shape layers of Keras's application models in their typical places.
final class RandomGraphsCoverageTests: XCTestCase {
    func testRandomGraphs_coverEveryRegisteredTypeAndTheApplicationModelsPatterns() throws {
        let insertable = RandomGraphs.insertableExamples(.standard)
        var configs: [String: [(name: String, config: LayerConfig)]] = [:]
        for (type, examples) in insertable {
            configs[type] = try examples.map { (name: $0.name, config: try $0.make().config) }
        }
        var types = Set<String>(), insertedExamples = Set<String>()
        var broadcastMultiply = 0, normalizedInput = 0, noiseShape = 0, keepdims = 0
        for seed in UInt64(0)..<500 {
            let graph = try RandomGraphs.make(seed: seed)
            types.formUnion(graph.nodes.map(\.layer.kerasClassName))
            for (i, node) in graph.nodes.enumerated() {
                let inputs = graph.inputShapes(ofNode: i)
                if node.layer is Multiply, Set(inputs).count > 1 { broadcastMultiply += 1 }
                if node.layer is Normalization, graph.inputIndices[i] == graph.inputNodeIndices { normalizedInput += 1 }
                if (node.layer as? Dropout)?.noiseShape != nil { noiseShape += 1 }
                if (node.layer as? GlobalAveragePooling2D)?.keepdims == true { keepdims += 1 }
                for example in configs[node.layer.kerasClassName] ?? [] where example.config == node.layer.config {
                    insertedExamples.insert(example.name)
                }
            }
        }
        for (type, _) in insertable {
            XCTAssertTrue(types.contains(type), "no random graph has a \(type)")
        }
        // The registry arm reaches most examples, not only one per type.
        let exampleCount = insertable.map(\.examples.count).reduce(0, +)
        XCTAssertGreaterThan(
            insertedExamples.count, exampleCount * 3 / 4,
            "\(exampleCount - insertedExamples.count) examples never inserted")
        XCTAssertGreaterThanOrEqual(
            insertable.count, LayerRegistry.standard.names.count - 2, "all but InputLayer and Dense have image examples"
        )
        for required in [
            "Reshape", "Subtract", "Average", "Maximum", "Rescaling", "Normalization", "LeakyReLU", "PReLU",
        ] {
            XCTAssertTrue(types.contains(required), "no random graph has a \(required)")
        }
        XCTAssertGreaterThan(broadcastMultiply, 20)
        XCTAssertGreaterThan(normalizedInput, 20)
        XCTAssertGreaterThan(noiseShape, 10)
        XCTAssertGreaterThan(keepdims, 10)
    }

    func testRandomGraphs_insertATypeRegisteredOnACopy() throws {
        var registry = LayerRegistry()
        try registry.register([InputLayer.self, Conv2D.self, ChannelScale.self])
        XCTAssertEqual(RandomGraphs.insertableExamples(registry).map(\.type), ["ChannelScale", "Conv2D"])
        var found = 0
        for seed in UInt64(0)..<40 {
            found += try RandomGraphs.make(seed: seed, registry: registry).nodes.filter { $0.layer is ChannelScale }
                .count
        }
        XCTAssertGreaterThan(found, 5)
    }
}
