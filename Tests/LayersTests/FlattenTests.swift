import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class FlattenTests: XCTestCase {
    func testFlatten_isRowMajorOverHeightWidthChannels() throws {
        let x = batch(2, [3, 4, 5], seed: 1)
        let y = try evaluate(Flatten(), x)
        XCTAssertEqual(y.shape, [2, 60])
        let (h, w, c) = (3, 4, 5)
        for n in 0..<2 {
            for iy in 0..<h {
                for ix in 0..<w {
                    for ch in 0..<c {
                        let k = (iy * w + ix) * c + ch
                        XCTAssertEqual(k % c, ch, "feature k is channel k % C")
                        XCTAssertEqual(y.scalars[n * 60 + k], x.scalars[((n * h + iy) * w + ix) * c + ch])
                    }
                }
            }
        }
    }

    func testFlatten_outputShape() throws {
        XCTAssertEqual(try Flatten().outputShape(for: [[5, 7, 3]]), [105])
        XCTAssertEqual(try Flatten().outputShape(for: [[6]]), [6])
        XCTAssertEqual(try Flatten().outputShape(for: [[2, 3, 4, 5]]), [120])
        assertThrows(
            try Flatten().outputShape(for: [[]]),
            "Flatten expects an input with at least one axis besides the batch axis, got []")
        assertThrows(try Flatten().outputShape(for: [[2, 2, 1], [2, 2, 1]]), "expects 1 input(s), got 2")
    }

    func testFlatten_backwardRestoresTheInputShape() throws {
        let x = batch(2, [5, 7, 3], seed: 2)
        let layer = Flatten()
        let out = try layer.forward([x], context: ForwardContext(training: true))
        let dy = Tensor.random(shape: out.value.shape, seed: 3)
        let g = try layer.backward(dy, inputs: [x], output: out, context: ForwardContext(training: true))
        XCTAssertEqual(g.inputs[0].shape, x.shape)
        XCTAssertEqual(g.inputs[0].scalars, dy.scalars)
        try checkGradients(layer, inputs: [x])
    }

    func testFlatten_configRoundTripAndRejectsChannelsFirst() {
        assertConfigRoundTrip(Flatten())
        assertThrows(
            try make(Flatten.self, ["data_format": "channels_first"]),
            "attribute 'data_format' is \"channels_first\", expected \"channels_last\" (NHWC)")
    }
}
