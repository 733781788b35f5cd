import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class InputLayerTests: XCTestCase {
    func testInputLayer_readsKeras3AndKeras2Shapes() throws {
        XCTAssertEqual(try make(InputLayer.self, ["batch_shape": [.null, 28, 28, 1]]).shape, [28, 28, 1])
        XCTAssertEqual(try make(InputLayer.self, ["batch_input_shape": [.null, 5, 7, 3]]).shape, [5, 7, 3])
        XCTAssertEqual(try make(InputLayer.self, ["batch_shape": [.null, 10]]).outputShape(for: []), [10])
    }

    func testInputLayer_forwardIsIdentityAndBackwardHasNoInputs() throws {
        let layer = InputLayer(shape: [2, 2, 1])
        let x = batch(3, [2, 2, 1], seed: 1)
        XCTAssertEqual(try evaluate(layer, x), x)
        let out = try layer.forward([x], context: ForwardContext(training: true))
        XCTAssertEqual(
            try layer.backward(x, inputs: [], output: out, context: ForwardContext(training: true)).inputs, [])
        XCTAssertTrue(layer.weights.isEmpty)
        XCTAssertEqual(layer.macs(inputShapes: [], outputShape: [2, 2, 1]), 0)
    }

    func testInputLayer_rejectsInputsAndBadShapes() {
        assertThrows(try InputLayer(shape: [3]).outputShape(for: [[3]]), "expects no input(s), got 1")
        assertThrows(
            try make(InputLayer.self), "attribute 'batch_input_shape' is missing (expected a list of integers)")
        assertThrows(
            try make(InputLayer.self, ["batch_shape": [.null, 0, 3]]),
            containing: ["attribute 'batch_shape' is", "expected [null, positive sizes...]"])
        assertThrows(
            try make(InputLayer.self, ["batch_shape": [.null]]),
            containing: ["attribute 'batch_shape' is", "expected [null, positive sizes...]"])
        assertThrows(
            try make(InputLayer.self, ["batch_shape": [.null, 2.5]]),
            containing: ["attribute 'batch_shape' is [null, 2.5], expected a list of integers"])
    }

    func testInputLayer_configRoundTrip() throws {
        assertConfigRoundTrip(InputLayer(shape: [28, 28, 1]))
        assertConfigRoundTrip(try make(InputLayer.self, ["batch_input_shape": [.null, 4]]))
    }
}
