import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class Cropping2DTests: XCTestCase {
    func testCropping_readsEveryKerasCroppingForm() throws {
        let int = try make(Cropping2D.self, ["cropping": 2])
        XCTAssertEqual([int.top, int.bottom, int.left, int.right], [2, 2, 2, 2])
        let pair = try make(Cropping2D.self, ["cropping": [1, 3]])
        XCTAssertEqual([pair.top, pair.bottom, pair.left, pair.right], [1, 1, 3, 3])
        let full = try make(Cropping2D.self, ["cropping": [[0, 1], [2, 3]]])
        XCTAssertEqual([full.top, full.bottom, full.left, full.right], [0, 1, 2, 3])
        let fallback = try make(Cropping2D.self)
        XCTAssertEqual(
            [fallback.top, fallback.bottom, fallback.left, fallback.right], [0, 0, 0, 0],
            "Keras's default crops nothing")
        XCTAssertEqual(try full.outputShape(for: [[5, 7, 3]]), [4, 2, 3])
    }

    func testCropping_forwardKeepsTheInnerWindow() throws {
        let layer = Cropping2D(top: 1, bottom: 0, left: 0, right: 2)
        let x = Tensor.literal(
            [1, 3, 4, 1],
            [
                1, 2, 3, 4,
                5, 6, 7, 8,
                9, 10, 11, 12,
            ])
        XCTAssertEqual(try evaluate(layer, x), Tensor.literal([1, 2, 2, 1], [5, 6, 9, 10]))
    }

    func testCropping_matchesLoopReference() throws {
        for (k, m) in [[1, 2, 0, 3], [0, 0, 0, 0], [2, 2, 1, 1], [0, 4, 6, 0]].enumerated() {
            let x = batch(2, [7, 8, 3], seed: UInt64(k) + 1)
            let layer = Cropping2D(top: m[0], bottom: m[1], left: m[2], right: m[3])
            assertClose(
                try evaluate(layer, x),
                Reference.cropping2D(input: x, top: m[0], bottom: m[1], left: m[2], right: m[3]),
                tolerance: 0, "\(m)")
        }
    }

    func testCropping_gradientCheck() throws {
        try checkGradients(Cropping2D(top: 1, bottom: 2, left: 0, right: 3), inputs: [batch(2, [5, 7, 3], seed: 2)])
        try checkGradients(Cropping2D(top: 0, bottom: 0, left: 0, right: 0), inputs: [batch(1, [2, 3, 2], seed: 3)])
    }

    func testCropping_refusesCroppingsThatLeaveNothing() throws {
        assertThrows(
            try Cropping2D(top: 2, bottom: 1, left: 0, right: 0).outputShape(for: [[3, 5, 2]]),
            "Cropping2D cropping [[2, 1], [0, 0]] leaves nothing of an input of shape [3, 5, 2]")
        assertThrows(
            try Cropping2D(top: 0, bottom: 0, left: 4, right: 4).outputShape(for: [[3, 8, 2]]),
            "Cropping2D cropping [[0, 0], [4, 4]] leaves nothing of an input of shape [3, 8, 2]")
        assertThrows(
            try Cropping2D(top: 1, bottom: 1, left: 1, right: 1).forward(
                [Tensor(shape: [1, 2, 5, 1])], context: .inference),
            "Cropping2D cropping [[1, 1], [1, 1]] leaves nothing of an input of shape [2, 5, 1]")
        XCTAssertEqual(try Cropping2D(top: 1, bottom: 1, left: 3, right: 4).outputShape(for: [[3, 8, 2]]), [1, 1, 2])
    }

    func testCropping_rejectsBadConfig() {
        let expected = "expected a non-negative integer, [height, width] or [[top, bottom], [left, right]]"
        assertThrows(try make(Cropping2D.self, ["cropping": -1]), "attribute 'cropping' is -1, " + expected)
        assertThrows(
            try make(Cropping2D.self, ["cropping": [1, 2, 3]]), "attribute 'cropping' is [1, 2, 3], " + expected)
        assertThrows(
            try make(Cropping2D.self, ["cropping": [[1, 2], [3]]]), "attribute 'cropping' is [[1, 2], [3]], " + expected
        )
        assertThrows(
            try make(Cropping2D.self, ["cropping": [[1, -2], [3, 0]]]),
            "attribute 'cropping' is [[1, -2], [3, 0]], " + expected)
        assertThrows(
            try make(Cropping2D.self, ["data_format": "channels_first"]),
            "attribute 'data_format' is \"channels_first\", expected \"channels_last\" (NHWC)")
        assertThrows(
            try Cropping2D(top: 1, bottom: 1, left: 1, right: 1).outputShape(for: [[4]]),
            "Cropping2D expects an image input [height, width, channels], got [4]")
    }

    func testCropping_configRoundTrip() throws {
        assertConfigRoundTrip(try make(Cropping2D.self, ["cropping": 2]))
        assertConfigRoundTrip(try make(Cropping2D.self, ["cropping": [[0, 1], [2, 3]]]))
        XCTAssertEqual(try make(Cropping2D.self, ["cropping": [1, 3]]).config["cropping"], [[1, 1], [3, 3]])
        XCTAssertEqual(
            Set(Cropping2D(top: 0, bottom: 0, left: 0, right: 0).config.values.keys), ["cropping", "data_format"])
    }
}
