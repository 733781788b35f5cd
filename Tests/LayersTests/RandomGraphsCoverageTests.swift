import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// The random graphs of the surgery property test (RandomGraphsSurgeryTests) reach the element-wise,
/// merge and shape layers of Keras's application models.
final class RandomGraphsCoverageTests: XCTestCase {
    func testRandomGraphs_coverTheElementwiseMergeAndShapeLayers() throws {
        var types = Set<String>()
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
            }
        }
        for required in ["Reshape", "Subtract", "Average", "Maximum", "Rescaling", "Normalization", "LeakyReLU", "PReLU"] {
            XCTAssertTrue(types.contains(required), "no random graph has a \(required)")
        }
        XCTAssertGreaterThan(broadcastMultiply, 20)
        XCTAssertGreaterThan(normalizedInput, 20)
        XCTAssertGreaterThan(noiseShape, 10)
        XCTAssertGreaterThan(keepdims, 10)
    }
}
