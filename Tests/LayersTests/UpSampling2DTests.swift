import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class UpSampling2DTests: XCTestCase {
    func testUpSampling_readsKerasSizeForms() throws {
        XCTAssertEqual(try make(UpSampling2D.self).size, [2, 2], "Keras's default is (2, 2)")
        XCTAssertEqual(try make(UpSampling2D.self, ["size": 3]).size, [3, 3])
        XCTAssertEqual(try make(UpSampling2D.self, ["size": [1, 3], "interpolation": "NEAREST"]).size, [1, 3])
        XCTAssertEqual(try make(UpSampling2D.self, ["size": [2, 3]]).outputShape(for: [[5, 7, 4]]), [10, 21, 4])
    }

    func testUpSampling_forwardRepeatsEachPixelIntoABlock() throws {
        let layer = UpSampling2D(size: [2, 3])
        let x = Tensor.literal([1, 2, 2, 1], [1, 2, 3, 4])
        XCTAssertEqual(
            try evaluate(layer, x),
            Tensor.literal(
                [1, 4, 6, 1],
                [
                    1, 1, 1, 2, 2, 2,
                    1, 1, 1, 2, 2, 2,
                    3, 3, 3, 4, 4, 4,
                    3, 3, 3, 4, 4, 4,
                ]))
    }

    func testUpSampling_matchesLoopReference() throws {
        for (k, size) in [[2, 2], [1, 3], [3, 1], [1, 1], [2, 3]].enumerated() {
            let x = batch(2, [3, 5, 4], seed: UInt64(k) + 1)
            assertClose(
                try evaluate(UpSampling2D(size: size), x), Reference.upSampling2D(input: x, size: size), tolerance: 0,
                "\(size)")
        }
    }

    func testUpSampling_gradientCheck() throws {
        for (k, size) in [[2, 2], [3, 2], [1, 1]].enumerated() {
            try checkGradients(
                UpSampling2D(size: size), inputs: [batch(2, [3, 5, 3], seed: UInt64(k) + 10)], label: "\(size)")
        }
    }

    func testUpSampling_refusesOtherInterpolationsAndBadConfig() {
        assertThrows(
            try make(UpSampling2D.self, ["interpolation": "bilinear"]),
            "UpSampling2D with interpolation \"bilinear\" is not supported; only \"nearest\"")
        assertThrows(
            try make(UpSampling2D.self, ["interpolation": "lanczos3"]),
            "UpSampling2D with interpolation \"lanczos3\" is not supported; only \"nearest\"")
        assertThrows(
            try make(UpSampling2D.self, ["interpolation": "cubic"]),
            "attribute 'interpolation' is \"cubic\", expected one of \"nearest\", \"bilinear\", \"bicubic\", "
                + "\"lanczos3\", \"lanczos5\""
        )
        assertThrows(
            try make(UpSampling2D.self, ["size": [2, 0]]), "attribute 'size' is [2, 0], expected 2 positive integers")
        assertThrows(
            try make(UpSampling2D.self, ["size": [2, 2, 2]]), "attribute 'size' is [2, 2, 2], expected 2 integers in -2^31...2^31")
        assertThrows(
            try make(UpSampling2D.self, ["data_format": "channels_first"]),
            "attribute 'data_format' is \"channels_first\", expected \"channels_last\" (NHWC)")
        assertThrows(
            try UpSampling2D().outputShape(for: [[4]]),
            "UpSampling2D expects an image input [height, width, channels], got [4]")
        assertThrows(
            try UpSampling2D().forward([Tensor(shape: [2, 4])], context: .inference),
            "UpSampling2D expects a batch of images [batch, height, width, channels], got [2, 4]")
    }

    func testUpSampling_configRoundTrip() throws {
        assertConfigRoundTrip(try make(UpSampling2D.self, ["size": 3]))
        assertConfigRoundTrip(UpSampling2D(size: [1, 2]))
        XCTAssertEqual(
            UpSampling2D().config,
            LayerConfig(["size": [2, 2], "data_format": "channels_last", "interpolation": "nearest"]))
    }
}
