import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class MergeTests: XCTestCase {
    // MARK: - Add

    func testAdd_sumsTwoOrMoreInputs() throws {
        let a = batch(2, [3, 3, 2], seed: 1), b = batch(2, [3, 3, 2], seed: 2), c = batch(2, [3, 3, 2], seed: 3)
        let y = try Add().forward([a, b, c], context: .inference).value
        for i in 0..<a.count {
            XCTAssertEqual(y.scalars[i], a.scalars[i] + b.scalars[i] + c.scalars[i], accuracy: 1e-6)
        }
        XCTAssertEqual(try Add().outputShape(for: [[3, 3, 2], [3, 3, 2], [3, 3, 2]]), [3, 3, 2])
    }

    func testAdd_gradientCheck() throws {
        try checkGradients(Add(), inputs: [batch(2, [5, 7, 3], seed: 4), batch(2, [5, 7, 3], seed: 5)])
        try checkGradients(Add(), inputs: [batch(2, [4], seed: 6), batch(2, [4], seed: 7), batch(2, [4], seed: 8)])
    }

    func testAdd_rejectsMismatchedShapes() {
        assertThrows(
            try Add().outputShape(for: [[4, 4, 8], [4, 4, 6]]),
            "Add needs inputs of one shape, or shapes that broadcast (each axis equal or 1); got [4, 4, 8], [4, 4, 6]")
        assertThrows(
            try Add().outputShape(for: [[4, 4, 8], [4, 4, 8], [5, 8]]),
            "Add needs inputs of one shape, or shapes that broadcast (each axis equal or 1); got [4, 4, 8], [4, 4, 8], "
                + "[5, 8]"
        )
        assertThrows(
            try Add().forward([batch(1, [4, 4, 8], seed: 1), batch(1, [4, 4, 6], seed: 1)], context: .inference),
            "Add needs inputs of one shape, or shapes that broadcast (each axis equal or 1); got [4, 4, 8], [4, 4, 6]")
        assertThrows(
            try Add().forward([batch(1, [3], seed: 1), batch(2, [3], seed: 1)], context: .inference),
            "Add needs inputs of one batch size; got 1, 2")
    }

    func testMerges_rejectFewerThanTwoInputs() {
        for layer in [Add(), Multiply(), Average(), Maximum(), Concatenate()] as [any Layer] {
            assertThrows(try layer.outputShape(for: [[4, 4, 8]]), "expects at least 2 input(s), got 1")
            assertThrows(try layer.outputShape(for: []), "expects at least 2 input(s), got 0")
            assertThrows(
                try layer.forward([batch(1, [2, 2, 2], seed: 1)], context: .inference),
                "expects at least 2 input(s), got 1")
        }
    }

    // MARK: - Multiply

    func testMultiply_multipliesElementWise() throws {
        let a = Tensor.literal([1, 3], [1, 2, 3]), b = Tensor.literal([1, 3], [4, 5, 6]),
            c = Tensor.literal([1, 3], [-1, 0, 2])
        XCTAssertEqual(
            try Multiply().forward([a, b], context: .inference).value, Tensor.literal([1, 3], [4, 10, 18]))
        XCTAssertEqual(
            try Multiply().forward([a, b, c], context: .inference).value, Tensor.literal([1, 3], [-4, 0, 36]))
    }

    func testMultiplyBackward_isProductOfTheOtherInputsEvenWithZeros() throws {
        let a = Tensor.literal([1, 3], [1, 2, 0]), b = Tensor.literal([1, 3], [4, 0, 6]),
            c = Tensor.literal([1, 3], [-1, 3, 2])
        let out = try Multiply().forward([a, b, c], context: ForwardContext(training: true))
        let g = try Multiply().backward(
            Tensor.literal([1, 3], [1, 1, 2]), inputs: [a, b, c], output: out,
            context: ForwardContext(training: true))
        XCTAssertEqual(g.inputs[0].scalars, [-4, 0, 24])
        XCTAssertEqual(g.inputs[1].scalars, [-1, 6, 0])
        XCTAssertEqual(g.inputs[2].scalars, [4, 0, 0])
    }

    func testMultiply_gradientCheck() throws {
        try checkGradients(Multiply(), inputs: [batch(2, [5, 7, 3], seed: 9), batch(2, [5, 7, 3], seed: 10)])
        try checkGradients(
            Multiply(), inputs: [batch(2, [3, 2], seed: 11), batch(2, [3, 2], seed: 12), batch(2, [3, 2], seed: 13)])
    }

    func testMultiply_rejectsMismatchedShapes() {
        assertThrows(
            try Multiply().outputShape(for: [[4, 4, 8], [4, 4, 6]]),
            "Multiply needs inputs of one shape, or shapes that broadcast (each axis equal or 1); got [4, 4, 8], [4, "
                + "4, 6]"
        )
        assertThrows(
            try Multiply().outputShape(for: [[4, 4, 8], [2, 1, 8]]),
            "Multiply needs inputs of one shape, or shapes that broadcast (each axis equal or 1); got [4, 4, 8], [2, "
                + "1, 8]"
        )
    }

    // MARK: - Subtract, Average, Maximum

    func testSubtract_averageAndMaximum_matchLoopReferences() throws {
        let a = batch(2, [3, 4, 5], seed: 21), b = batch(2, [3, 4, 5], seed: 22), c = batch(2, [3, 4, 5], seed: 23)
        let difference = try evaluate(Subtract(), a, b)
        let mean = try evaluate(Average(), a, b, c)
        let largest = try evaluate(Maximum(), a, b, c)
        for i in 0..<a.count {
            let (x, y, z) = (a.scalars[i], b.scalars[i], c.scalars[i])
            XCTAssertEqual(difference.scalars[i], x - y, accuracy: 1e-6)
            XCTAssertEqual(mean.scalars[i], (x + y + z) / 3, accuracy: 1e-6)
            XCTAssertEqual(largest.scalars[i], max(x, max(y, z)))
        }
        XCTAssertEqual(
            try evaluate(Subtract(), Tensor.literal([1, 2], [5, 1]), Tensor.literal([1, 2], [2, 3])).scalars, [3, -2])
        XCTAssertEqual(
            try evaluate(Average(), Tensor.literal([1, 2], [5, 1]), Tensor.literal([1, 2], [2, 3])).scalars, [3.5, 2])
        XCTAssertEqual(
            try evaluate(Maximum(), Tensor.literal([1, 2], [5, 1]), Tensor.literal([1, 2], [2, 3])).scalars, [5, 3])
    }

    func testSubtract_averageAndMaximum_gradientCheck() throws {
        try checkGradients(Subtract(), inputs: [batch(2, [5, 7, 3], seed: 24), batch(2, [5, 7, 3], seed: 25)])
        try checkGradients(Average(), inputs: [batch(2, [5, 7, 3], seed: 26), batch(2, [5, 7, 3], seed: 27)])
        try checkGradients(
            Average(), inputs: [batch(2, [4], seed: 28), batch(2, [4], seed: 29), batch(2, [4], seed: 30)])
        // Distinct values: no ties, and no perturbation changes which input is the largest.
        let values = Tensor.distinctValues(shape: [3, 2, 3, 4, 2], seed: 31)
        let parts = (0..<3).map { k in Tensor.literal([2, 3, 4, 2], Array(values.scalars[(k * 48)..<((k + 1) * 48)])) }
        try checkGradients(Maximum(), inputs: parts)
        try checkGradients(Maximum(), inputs: Array(parts.prefix(2)))
    }

    func testMaximumBackward_givesATieToTheFirstInputHoldingTheMaximum() throws {
        let a = Tensor.literal([1, 4], [1, 5, 2, 7]), b = Tensor.literal([1, 4], [1, 6, 2, 3]),
            c = Tensor.literal([1, 4], [0, 6, 2, 7])
        let context = ForwardContext(training: true)
        let out = try Maximum().forward([a, b, c], context: context)
        XCTAssertEqual(out.value.scalars, [1, 6, 2, 7])
        let g = try Maximum().backward(
            Tensor.literal([1, 4], [10, 20, 30, 40]), inputs: [a, b, c], output: out, context: context)
        XCTAssertEqual(g.inputs[0].scalars, [10, 0, 30, 40], "a ties b and c at 1, 2 and 7: a wins")
        XCTAssertEqual(g.inputs[1].scalars, [0, 20, 0, 0], "b ties c at 6 and comes first")
        XCTAssertEqual(g.inputs[2].scalars, [0, 0, 0, 0])
    }

    func testSubtract_takesExactlyTwoInputs() {
        assertThrows(try Subtract().outputShape(for: [[3], [3], [3]]), "expects exactly 2 input(s), got 3")
        assertThrows(try Subtract().outputShape(for: [[3]]), "expects exactly 2 input(s), got 1")
        assertThrows(
            try Subtract().forward([batch(1, [3], seed: 1)], context: .inference), "expects exactly 2 input(s), got 1")
        assertThrows(
            try Subtract().outputShape(for: [[4, 4, 8], [4, 4, 6]]),
            "Subtract needs inputs of one shape, or shapes that broadcast (each axis equal or 1); got [4, 4, 8], [4, "
                + "4, 6]"
        )
        assertThrows(
            try Maximum().forward([batch(1, [3], seed: 1), batch(2, [3], seed: 1)], context: .inference),
            "Maximum needs inputs of one batch size; got 1, 2")
    }

    // MARK: - Concatenate

    func testConcatenate_joinsChannelsInInputOrder() throws {
        let a = Tensor.literal([1, 1, 2, 2], [1, 2, 3, 4]), b = Tensor.literal([1, 1, 2, 1], [10, 20])
        let y = try Concatenate().forward([a, b], context: .inference).value
        XCTAssertEqual(y, Tensor.literal([1, 1, 2, 3], [1, 2, 10, 3, 4, 20]))
        let yb = try Concatenate().forward([b, a], context: .inference).value
        XCTAssertEqual(yb, Tensor.literal([1, 1, 2, 3], [10, 1, 2, 20, 3, 4]))
    }

    func testConcatenate_outputShapeAndAxisForms() throws {
        XCTAssertEqual(try Concatenate().outputShape(for: [[5, 7, 3], [5, 7, 2], [5, 7, 4]]), [5, 7, 9])
        let positive = try make(Concatenate.self, ["axis": 3])
        XCTAssertEqual(try positive.outputShape(for: [[5, 7, 3], [5, 7, 2]]), [5, 7, 5])
        XCTAssertEqual(
            try make(Concatenate.self, ["axis": 1]).outputShape(for: [[3], [4]]), [7], "axis 1 is last for flat inputs")
        XCTAssertEqual(try Concatenate().outputShape(for: [[3], [4]]), [7])
    }

    func testConcatenate_gradientCheck() throws {
        try checkGradients(
            Concatenate(),
            inputs: [
                batch(2, [5, 7, 3], seed: 14), batch(2, [5, 7, 1], seed: 15),
                batch(2, [5, 7, 2], seed: 16),
            ])
        try checkGradients(Concatenate(), inputs: [batch(3, [2], seed: 17), batch(3, [5], seed: 18)])
    }

    func testConcatenate_rejectsMismatchedSpatialSizes() {
        assertThrows(
            try Concatenate().outputShape(for: [[4, 4, 8], [5, 4, 6]]),
            "Concatenate needs inputs that agree on every axis but the last; got [4, 4, 8], [5, 4, 6]")
        assertThrows(
            try Concatenate().outputShape(for: [[4, 4, 8], [4, 6]]),
            "Concatenate needs inputs that agree on every axis but the last; got [4, 4, 8], [4, 6]")
        assertThrows(
            try Concatenate().forward(
                [batch(1, [4, 4, 8], seed: 1), batch(1, [4, 3, 8], seed: 1)], context: .inference),
            "Concatenate needs inputs that agree on every axis but the last; got [4, 4, 8], [4, 3, 8]")
        assertThrows(
            try Concatenate().forward(
                [batch(1, [2, 2, 1], seed: 1), batch(2, [2, 2, 1], seed: 1)], context: .inference),
            "Concatenate needs inputs of one batch size; got 1, 2")
    }

    func testConcatenate_rejectsAxesOtherThanTheLast() {
        assertThrows(
            try make(Concatenate.self, ["axis": 1]).outputShape(for: [[4, 4, 8], [4, 4, 8]]),
            "Concatenate along axis 1 is not supported; only the last (channel) axis (-1 or 3)")
        assertThrows(
            try make(Concatenate.self, ["axis": 0]),
            "Concatenate along axis 0 is not supported; only the last (channel) axis (-1)")
        assertThrows(
            try make(Concatenate.self, ["axis": -2]),
            "Concatenate along axis -2 is not supported; only the last (channel) axis (-1)")
        assertThrows(try make(Concatenate.self, ["axis": "last"]), "attribute 'axis' is \"last\", expected an integer in -2^31...2^31")
    }

    // MARK: - Config

    func testMerges_configRoundTripAndMacs() throws {
        assertConfigRoundTrip(Add())
        assertConfigRoundTrip(Multiply())
        assertConfigRoundTrip(Subtract())
        assertConfigRoundTrip(Average())
        assertConfigRoundTrip(Maximum())
        XCTAssertEqual(Subtract().config, LayerConfig())
        assertConfigRoundTrip(Concatenate())
        assertConfigRoundTrip(try make(Concatenate.self, ["axis": 3]))
        XCTAssertEqual(try make(Concatenate.self, ["axis": 3]).config["axis"], 3)
        XCTAssertEqual(Add().macs(inputShapes: [[4, 4, 8], [4, 4, 8]], outputShape: [4, 4, 8]), 0)
        XCTAssertEqual(Concatenate().macs(inputShapes: [[4, 4, 8], [4, 4, 8]], outputShape: [4, 4, 16]), 0)
    }

    // MARK: - In a graph

    func testMergesInAGraph_residualAndConcatenatingBranchesRunAndReportNodeErrors() throws {
        let nodes = [
            Node("input", InputLayer(shape: [6, 6, 3])),
            Node("pad", ZeroPadding2D(top: 1, bottom: 1, left: 1, right: 1), inputs: ["input"]),
            Node("pool", try make(MaxPooling2D.self, ["pool_size": 3, "strides": 1]), inputs: ["pad"]),
            Node("add", Add(), inputs: ["input", "pool"]),
            Node("cat", Concatenate(), inputs: ["add", "input"]),
            Node("avg", AveragePooling2D(), inputs: ["cat"]),
            Node("gap", GlobalAveragePooling2D(), inputs: ["avg"]),
            Node("flat", Flatten(), inputs: ["avg"]),
            Node("drop", Dropout(rate: 0.5), inputs: ["flat"]),
        ]
        let graph = try Graph(nodes: nodes, outputs: ["gap", "drop"])
        try graph.checkInvariants()
        XCTAssertEqual(graph.shapes[graph.index(of: "cat")!], [6, 6, 6])
        XCTAssertEqual(graph.shapes[graph.index(of: "flat")!], [54])
        let x = batch(2, [6, 6, 3], seed: 1)
        let outputs = try graph.predict([x])
        XCTAssertEqual(outputs.map(\.shape), [[2, 6], [2, 54]])

        let tape = try graph.forwardTraining([x], context: ForwardContext(training: true, seed: 3))
        let grads = try graph.backward(
            tape, outputGradients: [Tensor(shape: [2, 6], repeating: 1), Tensor(shape: [2, 54], repeating: 1)])
        XCTAssertEqual(grads.count, nodes.count)

        let bad = [
            Node("a", InputLayer(shape: [4, 4, 8])), Node("b", InputLayer(shape: [4, 4, 6])),
            Node("add", Add(), inputs: ["a", "b"]),
        ]
        XCTAssertThrowsError(try Graph(nodes: bad, outputs: ["add"])) { error in
            XCTAssertEqual(
                "\(error)",
                "node 'add' (Add): Add needs inputs of one shape, or shapes that broadcast (each axis equal or 1); got "
                    + "[4, 4, 8], [4, 4, 6]"
            )
        }
    }
}
