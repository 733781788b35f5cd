import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class PoolingTests: XCTestCase {
    /// (pool_size, strides, padding, input H x W): odd and even sizes, overlapping windows,
    /// strides other than the pool size, rectangular windows.
    static let cases: [(pool: [Int], strides: [Int], same: Bool, size: [Int])] = [
        ([2, 2], [2, 2], false, [5, 7]),
        ([2, 2], [2, 2], true, [5, 7]),
        ([2, 2], [2, 2], true, [6, 8]),
        ([3, 3], [2, 2], true, [5, 7]),
        ([3, 3], [2, 2], true, [6, 8]),
        ([3, 3], [2, 2], false, [6, 7]),
        ([3, 3], [1, 1], true, [4, 5]),
        ([2, 3], [1, 2], false, [5, 7]),
        ([1, 1], [3, 3], true, [5, 7]),
    ]

    private func config(_ c: (pool: [Int], strides: [Int], same: Bool, size: [Int])) -> [String: ConfigValue] {
        [
            "pool_size": .array(c.pool.map { .number(Double($0)) }),
            "strides": .array(c.strides.map { .number(Double($0)) }),
            "padding": .string(c.same ? "same" : "valid"),
        ]
    }

    // MARK: - Forward

    func testMaxPooling_handComputed() throws {
        let x = Tensor.literal(
            [1, 4, 4, 1],
            [
                1, 2, 5, 0,
                3, 4, 1, 1,
                0, -1, 9, 8,
                -2, -3, 7, 6,
            ])
        XCTAssertEqual(try evaluate(MaxPooling2D(), x), Tensor.literal([1, 2, 2, 1], [4, 5, 0, 9]))
    }

    func testAveragePooling_handComputed() throws {
        let x = Tensor.literal(
            [1, 2, 4, 2],
            [
                1, 10, 2, 20, 3, 30, 4, 40,
                5, 50, 6, 60, 7, 70, 8, 80,
            ])
        XCTAssertEqual(try evaluate(AveragePooling2D(), x), Tensor.literal([1, 1, 2, 2], [3.5, 35, 5.5, 55]))
    }

    func testMaxPooling_matchesReference() throws {
        for (k, c) in Self.cases.enumerated() {
            let layer = try make(MaxPooling2D.self, config(c))
            let x = batch(2, c.size + [3], seed: UInt64(k) + 1)
            let expected = Reference.maxPool2D(input: x, poolSize: c.pool, strides: c.strides, same: c.same)
            assertClose(try evaluate(layer, x), expected, tolerance: 0, "case \(c)")
            assertClose(try evaluate(layer, x, training: true), expected, tolerance: 0, "training, case \(c)")
            XCTAssertEqual(try layer.outputShape(for: [c.size + [3]]), Array(expected.shape.dropFirst()))
        }
    }

    func testAveragePooling_matchesReference() throws {
        for (k, c) in Self.cases.enumerated() {
            let layer = try make(AveragePooling2D.self, config(c))
            let x = batch(2, c.size + [3], seed: UInt64(k) + 10)
            let expected = Reference.averagePool2D(input: x, poolSize: c.pool, strides: c.strides, same: c.same)
            assertClose(try evaluate(layer, x), expected, tolerance: 1e-6, "case \(c)")
            XCTAssertEqual(try layer.outputShape(for: [c.size + [3]]), Array(expected.shape.dropFirst()))
        }
    }

    func testAveragePoolingSame_dividesByValidPositionsOnly() throws {
        // 3x3 ones, 2x2 windows, stride 2, 'same': output 2x2 and the padded bottom/right windows
        // cover 2 or 1 real positions. Dividing by the window area would give 0.5 and 0.25.
        let layer = try make(AveragePooling2D.self, ["pool_size": 2, "padding": "same"])
        let y = try evaluate(layer, Tensor(shape: [1, 3, 3, 1], repeating: 1))
        XCTAssertEqual(y, Tensor(shape: [1, 2, 2, 1], repeating: 1))

        let x = Tensor.literal([1, 3, 3, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9])
        // windows: {1,2,4,5}, {3,6}, {7,8}, {9}
        XCTAssertEqual(try evaluate(layer, x), Tensor.literal([1, 2, 2, 1], [3, 4.5, 7.5, 9]))
    }

    func testAveragePoolingSame_backwardDividesByValidPositionsOnly() throws {
        let layer = try make(AveragePooling2D.self, ["pool_size": 2, "padding": "same"])
        let x = Tensor(shape: [1, 3, 3, 1], repeating: 1)
        let out = try layer.forward([x], context: ForwardContext(training: true))
        let g = try layer.backward(
            Tensor(shape: [1, 2, 2, 1], repeating: 1), inputs: [x], output: out,
            context: ForwardContext(training: true))
        XCTAssertEqual(g.inputs[0], Tensor.literal([1, 3, 3, 1], [0.25, 0.25, 0.5, 0.25, 0.25, 0.5, 0.5, 0.5, 1]))
    }

    func testMaxPoolingSame_ignoresPaddingForNegativeInputs() throws {
        // All inputs negative: a zero from the padding must never win.
        let layer = try make(MaxPooling2D.self, ["pool_size": 3, "strides": 2, "padding": "same"])
        let x = Tensor.random(shape: [1, 5, 5, 2], seed: 3, range: -2 ... -1)
        let y = try evaluate(layer, x)
        XCTAssertTrue(y.scalars.allSatisfy { $0 < 0 })
        assertClose(y, Reference.maxPool2D(input: x, poolSize: [3, 3], strides: [2, 2], same: true), tolerance: 0)
    }

    func testPoolingSame_putsTheSmallerPaddingHalfTopLeft() throws {
        // 4 wide, pool 4, stride 1, 'same': 3 padded cells, floor(3 / 2) = 1 on the left and 2 on
        // the right (KERAS-FORMAT 5.3). The windows cover columns {0,1,2}, {0..3}, {1,2,3}, {2,3}.
        let row = Tensor.literal([1, 1, 4, 1], [1, 2, 3, 4])
        let wide = ["pool_size": [1, 4] as ConfigValue, "strides": 1, "padding": "same"]
        XCTAssertEqual(try evaluate(make(AveragePooling2D.self, wide), row).scalars, [2, 2.5, 3, 3.5])
        XCTAssertEqual(try evaluate(make(MaxPooling2D.self, wide), row).scalars, [3, 4, 4, 4])
        // Negative values: a padded cell would win with 0; -infinity padding never does.
        let negative = Tensor.literal([1, 1, 4, 1], [-1, -2, -3, -4])
        XCTAssertEqual(try evaluate(make(MaxPooling2D.self, wide), negative).scalars, [-1, -1, -2, -3])
        // The same along the height.
        let column = Tensor.literal([1, 4, 1, 1], [1, 2, 3, 4])
        let tall = ["pool_size": [4, 1] as ConfigValue, "strides": 1, "padding": "same"]
        XCTAssertEqual(try evaluate(make(AveragePooling2D.self, tall), column).scalars, [2, 2.5, 3, 3.5])
        XCTAssertEqual(
            try evaluate(make(MaxPooling2D.self, tall), try negative.reshaped([1, 4, 1, 1])).scalars, [-1, -1, -2, -3])
    }

    func testPooling_stridesDefaultToPoolSize() throws {
        let layer = try make(MaxPooling2D.self, ["pool_size": 3])
        XCTAssertEqual(layer.window.strides, [3, 3])
        XCTAssertEqual(try layer.outputShape(for: [[9, 7, 2]]), [3, 2, 2])
        let nullStrides = try make(AveragePooling2D.self, ["pool_size": [2, 3], "strides": .null])
        XCTAssertEqual(nullStrides.window.strides, [2, 3])
        XCTAssertEqual(try make(MaxPooling2D.self).window.size, [2, 2], "pool_size defaults to 2x2")
    }

    // MARK: - Backward

    func testMaxPoolingBackward_routesToArgmax() throws {
        let x = Tensor.literal([1, 2, 4, 1], [1, 7, 2, 3, 4, 5, 9, 8])
        let layer = MaxPooling2D()
        let context = ForwardContext(training: true)
        let out = try layer.forward([x], context: context)
        XCTAssertEqual(out.value, Tensor.literal([1, 1, 2, 1], [7, 9]))
        let g = try layer.backward(Tensor.literal([1, 1, 2, 1], [10, 20]), inputs: [x], output: out, context: context)
        XCTAssertEqual(g.inputs[0], Tensor.literal([1, 2, 4, 1], [0, 10, 0, 0, 0, 0, 20, 0]))
    }

    func testMaxPoolingBackward_routesToFirstMaxOnTies() throws {
        // Each window holds its maximum twice; the gradient goes to the first in row-major order.
        let x = Tensor.literal([1, 2, 4, 1], [1, 5, 6, 2, 5, 0, 3, 6])
        let layer = MaxPooling2D()
        let context = ForwardContext(training: true)
        let out = try layer.forward([x], context: context)
        let g = try layer.backward(Tensor.literal([1, 1, 2, 1], [1, 1]), inputs: [x], output: out, context: context)
        XCTAssertEqual(g.inputs[0], Tensor.literal([1, 2, 4, 1], [0, 1, 1, 0, 0, 0, 0, 0]))

        // All equal: the top-left element of the window wins.
        let flat = Tensor(shape: [1, 2, 2, 3], repeating: 4)
        let flatOut = try layer.forward([flat], context: context)
        let flatGrad = try layer.backward(
            Tensor(shape: [1, 1, 1, 3], repeating: 1), inputs: [flat], output: flatOut, context: context)
        XCTAssertEqual(flatGrad.inputs[0].scalars, [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    func testMaxPoolingBackward_withoutCacheRecomputesArgmax() throws {
        let layer = try make(MaxPooling2D.self, ["pool_size": 3, "strides": 2, "padding": "same"])
        let x = Tensor.distinctValues(shape: [2, 5, 6, 3], seed: 4)
        let dy = Tensor.random(shape: [2, 3, 3, 3], seed: 5)
        let training = ForwardContext(training: true)
        let cached = try layer.backward(
            dy, inputs: [x], output: try layer.forward([x], context: training), context: training)
        let recomputed = try layer.backward(
            dy, inputs: [x], output: LayerOutput(try evaluate(layer, x)), context: training)
        XCTAssertEqual(cached.inputs[0], recomputed.inputs[0])
    }

    func testOverlappingMaxPoolingBackward_accumulatesSharedArgmax() throws {
        // 3x3 windows, stride 1 over a 3x4 input whose maximum is in the middle column pair:
        // both windows pick the same element and its gradient is the sum.
        let x = Tensor.literal([1, 3, 4, 1], [0, 0, 0, 0, 0, 9, 1, 0, 0, 0, 0, 0])
        let layer = try make(MaxPooling2D.self, ["pool_size": 3, "strides": 1])
        let context = ForwardContext(training: true)
        let out = try layer.forward([x], context: context)
        XCTAssertEqual(out.value.scalars, [9, 9])
        let g = try layer.backward(Tensor.literal([1, 1, 2, 1], [2, 3]), inputs: [x], output: out, context: context)
        XCTAssertEqual(g.inputs[0].scalars[5], 5)
        XCTAssertEqual(g.inputs[0].sum, 5)
    }

    func testMaxPooling_gradientCheck() throws {
        for (k, c) in Self.cases.enumerated() {
            let layer = try make(MaxPooling2D.self, config(c))
            let x = Tensor.distinctValues(shape: [2] + c.size + [3], seed: UInt64(k) + 20)
            try checkGradients(layer, inputs: [x], label: "\(c)")
        }
    }

    func testAveragePooling_gradientCheck() throws {
        for (k, c) in Self.cases.enumerated() {
            let layer = try make(AveragePooling2D.self, config(c))
            try checkGradients(layer, inputs: [batch(2, c.size + [3], seed: UInt64(k) + 40)], label: "\(c)")
        }
    }

    // MARK: - Config, shapes, errors

    func testPooling_configRoundTrip() throws {
        for c in Self.cases {
            assertConfigRoundTrip(try make(MaxPooling2D.self, config(c)))
            assertConfigRoundTrip(try make(AveragePooling2D.self, config(c)))
        }
        let layer = try make(MaxPooling2D.self, ["pool_size": 3, "padding": "same"])
        XCTAssertEqual(layer.config["pool_size"], [3, 3])
        XCTAssertEqual(layer.config["strides"], [3, 3])
        XCTAssertEqual(layer.config["padding"], "same")
        XCTAssertEqual(layer.config["data_format"], "channels_last")
        XCTAssertNil(layer.config["dilation_rate"], "pooling has no dilation")
    }

    func testPooling_rejectsFullPadding() {
        for type in [MaxPooling2D.self, AveragePooling2D.self] as [any Layer.Type] {
            assertThrows(
                try type.init(config: LayerConfig(["pool_size": 2, "padding": "full"])),
                "attribute 'padding' is \"full\", expected one of \"valid\", \"same\"")
        }
    }

    func testPooling_rejectsChannelsFirst() {
        for type in [MaxPooling2D.self, AveragePooling2D.self] as [any Layer.Type] {
            assertThrows(
                try type.init(config: LayerConfig(["data_format": "channels_first"])),
                "attribute 'data_format' is \"channels_first\", expected \"channels_last\" (NHWC)")
        }
    }

    func testPooling_rejectsNonPositiveSizes() {
        assertThrows(
            try make(MaxPooling2D.self, ["pool_size": 0]),
            "attribute 'pool_size' is [0, 0], expected 2 positive integers")
        assertThrows(
            try make(AveragePooling2D.self, ["pool_size": 2, "strides": [1, 0]]),
            "attribute 'strides' is [1, 0], expected 2 positive integers")
        assertThrows(
            try make(MaxPooling2D.self, ["pool_size": [2, 2, 2]]),
            "attribute 'pool_size' is [2, 2, 2], expected 2 integers in -2^31...2^31")
    }

    func testPooling_rejectsWrongInputCountAndShape() throws {
        let layer = MaxPooling2D()
        assertThrows(try layer.outputShape(for: [[4, 4, 1], [4, 4, 1]]), "expects 1 input(s), got 2")
        assertThrows(try layer.outputShape(for: []), "expects 1 input(s), got 0")
        assertThrows(
            try AveragePooling2D().outputShape(for: [[16]]),
            "expects an image input [height, width, channels], got [16]")
        let x = batch(1, [4, 4, 1], seed: 1)
        assertThrows(try layer.forward([x, x], context: .inference), "expects 1 input(s), got 2")
        assertThrows(
            try make(MaxPooling2D.self, ["pool_size": 3]).outputShape(for: [[2, 5, 1]]),
            "a 3x3 window (dilation [1, 1]) does not fit a 2x5 input with padding 'valid'")
        XCTAssertEqual(
            try make(MaxPooling2D.self, ["pool_size": 3, "padding": "same"]).outputShape(for: [[2, 5, 1]]), [1, 2, 1])
    }

    func testPooling_macsCountWindowPositionsPerOutput() throws {
        let layer = try make(AveragePooling2D.self, ["pool_size": 3, "strides": 2, "padding": "same"])
        let out = try layer.outputShape(for: [[5, 7, 4]])
        XCTAssertEqual(out, [3, 4, 4])
        XCTAssertEqual(layer.macs(inputShapes: [[5, 7, 4]], outputShape: out), 3 * 4 * 4 * 9)
        XCTAssertEqual(MaxPooling2D().macs(inputShapes: [[4, 4, 2]], outputShape: [2, 2, 2]), 2 * 2 * 2 * 4)
        XCTAssertTrue(layer.weights.isEmpty)
        XCTAssertEqual(try layer.weightShapes(for: [[5, 7, 4]]), [])
    }
}
