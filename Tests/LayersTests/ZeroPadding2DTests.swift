import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class ZeroPadding2DTests: XCTestCase {
    func testZeroPadding_readsEveryKerasPaddingForm() throws {
        let int = try make(ZeroPadding2D.self, ["padding": 2])
        XCTAssertEqual([int.top, int.bottom, int.left, int.right], [2, 2, 2, 2])
        let pair = try make(ZeroPadding2D.self, ["padding": [1, 3]])
        XCTAssertEqual([pair.top, pair.bottom, pair.left, pair.right], [1, 1, 3, 3])
        let full = try make(ZeroPadding2D.self, ["padding": [[0, 1], [2, 3]]])
        XCTAssertEqual([full.top, full.bottom, full.left, full.right], [0, 1, 2, 3])
        let fallback = try make(ZeroPadding2D.self)
        XCTAssertEqual(
            [fallback.top, fallback.bottom, fallback.left, fallback.right], [1, 1, 1, 1], "Keras's default is 1")
        XCTAssertEqual(try full.outputShape(for: [[5, 7, 3]]), [6, 12, 3])
    }

    func testZeroPadding_forwardPlacesTheImageAndZeros() throws {
        let layer = ZeroPadding2D(top: 1, bottom: 0, left: 0, right: 2)
        let x = Tensor.literal([1, 2, 2, 1], [1, 2, 3, 4])
        XCTAssertEqual(
            try evaluate(layer, x),
            Tensor.literal(
                [1, 3, 4, 1],
                [
                    0, 0, 0, 0,
                    1, 2, 0, 0,
                    3, 4, 0, 0,
                ]))
    }

    func testZeroPadding_forwardKeepsChannelsTogether() throws {
        let layer = ZeroPadding2D(top: 1, bottom: 1, left: 1, right: 1)
        let x = batch(2, [3, 2, 4], seed: 1)
        let y = try evaluate(layer, x)
        XCTAssertEqual(y.shape, [2, 5, 4, 4])
        for n in 0..<2 {
            for iy in 0..<5 {
                for ix in 0..<4 {
                    for c in 0..<4 {
                        let inside = (1...3).contains(iy) && (1...2).contains(ix)
                        let expected = inside ? x.scalars[((n * 3 + iy - 1) * 2 + ix - 1) * 4 + c] : 0
                        XCTAssertEqual(y.scalars[((n * 5 + iy) * 4 + ix) * 4 + c], expected)
                    }
                }
            }
        }
        XCTAssertEqual(y.sum, x.sum, accuracy: 1e-5)
    }

    func testZeroPadding_gradientCheck() throws {
        try checkGradients(ZeroPadding2D(top: 1, bottom: 2, left: 0, right: 3), inputs: [batch(2, [5, 7, 3], seed: 2)])
        try checkGradients(ZeroPadding2D(top: 0, bottom: 0, left: 0, right: 0), inputs: [batch(1, [2, 3, 2], seed: 3)])
    }

    func testZeroPadding_rowsSplitOverThreadsGiveTheOneThreadResult() throws {
        let layer = ZeroPadding2D(top: 2, bottom: 1, left: 3, right: 0)
        let x = batch(8, [17, 13, 64], seed: 4)
        let before = Compute.threads
        defer { Compute.setThreads(before) }
        func run(threads: Int) throws -> (Tensor, Tensor) {
            Compute.setThreads(threads)
            let out = try layer.forward([x], context: ForwardContext(training: true))
            let dy = batch(8, [20, 16, 64], seed: 5)
            let dx = try layer.backward(dy, inputs: [x], output: out, context: ForwardContext(training: true))
            return (out.value, dx.inputs[0])
        }
        let (y1, dx1) = try run(threads: 1)
        let (y3, dx3) = try run(threads: 3)
        XCTAssertEqual(y3, y1)
        XCTAssertEqual(dx3, dx1)
        XCTAssertEqual(y1.sum, x.sum, accuracy: 1e-2)
        XCTAssertEqual(y1.scalars[0..<(2 * 16 * 64)].filter { $0 != 0 }.count, 0, "the top rows are zeros")
    }

    func testZeroPadding_rejectsBadPadding() {
        let expected = "expected a non-negative integer, [height, width] or [[top, bottom], [left, right]]"
        assertThrows(try make(ZeroPadding2D.self, ["padding": -1]), "attribute 'padding' is -1, " + expected)
        assertThrows(
            try make(ZeroPadding2D.self, ["padding": [1, 2, 3]]), "attribute 'padding' is [1, 2, 3], " + expected)
        assertThrows(
            try make(ZeroPadding2D.self, ["padding": [[1, 2], [3]]]),
            "attribute 'padding' is [[1, 2], [3]], " + expected)
        assertThrows(try make(ZeroPadding2D.self, ["padding": "same"]), "attribute 'padding' is \"same\", " + expected)
        assertThrows(try make(ZeroPadding2D.self, ["padding": 1.5]), "attribute 'padding' is 1.5, " + expected)
        assertThrows(
            try make(ZeroPadding2D.self, ["data_format": "channels_first"]),
            "attribute 'data_format' is \"channels_first\", expected \"channels_last\" (NHWC)")
        assertThrows(
            try ZeroPadding2D(top: 1, bottom: 1, left: 1, right: 1).outputShape(for: [[4]]),
            "ZeroPadding2D expects an image input [height, width, channels], got [4]")
    }

    func testZeroPadding_configRoundTrip() throws {
        assertConfigRoundTrip(try make(ZeroPadding2D.self, ["padding": 2]))
        assertConfigRoundTrip(try make(ZeroPadding2D.self, ["padding": [[0, 1], [2, 3]]]))
        XCTAssertEqual(try make(ZeroPadding2D.self, ["padding": [1, 3]]).config["padding"], [[1, 1], [3, 3]])
    }
}
