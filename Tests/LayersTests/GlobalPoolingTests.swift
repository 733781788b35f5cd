import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class GlobalPoolingTests: XCTestCase {
    func testGlobalAveragePooling_matchesReference() throws {
        let x = batch(3, [5, 7, 4], seed: 1)
        let layer = GlobalAveragePooling2D()
        XCTAssertEqual(try layer.outputShape(for: [[5, 7, 4]]), [4])
        assertClose(try evaluate(layer, x), Reference.globalPool(input: x, max: false), tolerance: 1e-6)
    }

    func testGlobalMaxPooling_matchesReference() throws {
        let x = batch(3, [5, 7, 4], seed: 2)
        let layer = GlobalMaxPooling2D()
        XCTAssertEqual(try layer.outputShape(for: [[5, 7, 4]]), [4])
        let expected = Reference.globalPool(input: x, max: true)
        assertClose(try evaluate(layer, x), expected, tolerance: 0)
        assertClose(try evaluate(layer, x, training: true), expected, tolerance: 0)
    }

    func testGlobalPooling_handComputed() throws {
        // 2x2 image, 2 channels: channel 0 = 1, 2, 3, 4; channel 1 = -1, -5, -2, -3.
        let x = Tensor.literal([1, 2, 2, 2], [1, -1, 2, -5, 3, -2, 4, -3])
        XCTAssertEqual(try evaluate(GlobalAveragePooling2D(), x), Tensor.literal([1, 2], [2.5, -2.75]))
        XCTAssertEqual(try evaluate(GlobalMaxPooling2D(), x), Tensor.literal([1, 2], [4, -1]))
    }

    func testGlobalAveragePooling_gradientCheck() throws {
        try checkGradients(GlobalAveragePooling2D(), inputs: [batch(2, [5, 7, 3], seed: 3)])
        try checkGradients(GlobalAveragePooling2D(), inputs: [batch(2, [1, 1, 5], seed: 4)])
    }

    func testGlobalMaxPooling_gradientCheck() throws {
        try checkGradients(GlobalMaxPooling2D(), inputs: [Tensor.distinctValues(shape: [2, 5, 7, 3], seed: 5)])
        try checkGradients(GlobalMaxPooling2D(), inputs: [Tensor.distinctValues(shape: [3, 1, 1, 2], seed: 6)])
    }

    func testGlobalMaxPoolingBackward_routesToFirstMaxOnTies() throws {
        let x = Tensor.literal([1, 2, 2, 1], [3, 7, 7, 1])
        let layer = GlobalMaxPooling2D()
        let context = ForwardContext(training: true)
        let out = try layer.forward([x], context: context)
        let g = try layer.backward(Tensor.literal([1, 1], [2]), inputs: [x], output: out, context: context)
        XCTAssertEqual(g.inputs[0].scalars, [0, 2, 0, 0])
        // Without a cache (an inference-mode output) the argmax is recomputed.
        let again = try layer.backward(
            Tensor.literal([1, 1], [2]), inputs: [x], output: LayerOutput(out.value), context: context)
        XCTAssertEqual(again.inputs[0], g.inputs[0])
    }

    func testGlobalPoolingKeepdims_givesOneByOneImagesOfTheSameValues() throws {
        let x = batch(3, [5, 7, 4], seed: 7)
        for max in [false, true] {
            let layer: any Layer =
                max
                ? try make(GlobalMaxPooling2D.self, ["keepdims": true])
                : try make(GlobalAveragePooling2D.self, ["keepdims": true])
            XCTAssertEqual(try layer.outputShape(for: [[5, 7, 4]]), [1, 1, 4])
            let y = try layer.forward([x], context: .inference).value
            assertClose(
                y, try Reference.globalPool(input: x, max: max).reshaped([3, 1, 1, 4]), tolerance: max ? 0 : 1e-6,
                "max \(max)")
            XCTAssertEqual(try layer.forward([x], context: ForwardContext(training: true)).value, y)
        }
        XCTAssertNoThrow(try make(GlobalMaxPooling2D.self, ["keepdims": false]))
    }

    func testGlobalPoolingKeepdims_gradientCheck() throws {
        try checkGradients(GlobalAveragePooling2D(keepdims: true), inputs: [batch(2, [5, 7, 3], seed: 8)])
        try checkGradients(
            GlobalMaxPooling2D(keepdims: true), inputs: [Tensor.distinctValues(shape: [2, 4, 3, 3], seed: 9)])
        let out = try GlobalAveragePooling2D(keepdims: true).forward(
            [batch(2, [3, 3, 2], seed: 1)], context: ForwardContext(training: true))
        assertThrows(
            try GlobalAveragePooling2D(keepdims: true).backward(
                Tensor(shape: [2, 2]), inputs: [batch(2, [3, 3, 2], seed: 1)],
                output: out, context: ForwardContext(training: true)),
            "GlobalAveragePooling2D backward: output gradient of shape [2, 2], expected [2, 1, 1, 2]")
    }

    func testGlobalPooling_rejectsChannelsFirst() {
        assertThrows(
            try make(GlobalAveragePooling2D.self, ["data_format": "channels_first"]),
            "attribute 'data_format' is \"channels_first\", expected \"channels_last\" (NHWC)")
        assertThrows(
            try make(GlobalMaxPooling2D.self, ["data_format": "channels_first"]),
            "attribute 'data_format' is \"channels_first\", expected \"channels_last\" (NHWC)")
    }

    func testGlobalPooling_rejectsNonImageInputsAndInputCounts() {
        assertThrows(
            try GlobalAveragePooling2D().outputShape(for: [[10]]),
            "GlobalAveragePooling2D expects an image input [height, width, channels], got [10]")
        assertThrows(try GlobalMaxPooling2D().outputShape(for: [[4, 4, 2], [4, 4, 2]]), "expects 1 input(s), got 2")
        assertThrows(
            try GlobalMaxPooling2D().forward([Tensor(shape: [2, 3])], context: .inference),
            "GlobalMaxPooling2D expects a batch of images [batch, height, width, channels], got [2, 3]")
    }

    func testGlobalPooling_configRoundTripAndMacs() throws {
        assertConfigRoundTrip(GlobalAveragePooling2D())
        assertConfigRoundTrip(GlobalMaxPooling2D())
        assertConfigRoundTrip(GlobalAveragePooling2D(keepdims: true))
        assertConfigRoundTrip(GlobalMaxPooling2D(keepdims: true))
        XCTAssertEqual(GlobalAveragePooling2D().config["keepdims"], false)
        XCTAssertEqual(
            try make(GlobalMaxPooling2D.self, ["keepdims": true]).config,
            LayerConfig(["keepdims": true, "data_format": "channels_last"]))
        XCTAssertEqual(GlobalAveragePooling2D().macs(inputShapes: [[5, 7, 3]], outputShape: [3]), 105)
    }
}
