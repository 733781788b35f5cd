import SurgeonCore
import SurgeonCoreTestSupport
import XCTest

final class GraphTests: XCTestCase {
    func testResidualAndConcatenatingGraph_infersShapesAndPassesInvariants() throws {
        let graph = try TestGraphs.residual()
        XCTAssertNoThrow(try graph.checkInvariants())
        XCTAssertEqual(graph.shapes[try index(of: "concat", in: graph)], [6, 6, 8])
        XCTAssertEqual(graph.shapes[try index(of: "dense", in: graph)], [3])
        XCTAssertEqual(graph.consumers[try index(of: "conv_a", in: graph)].count, 2)
    }

    func testNodesGivenOutOfOrder_areSortedTopologically() throws {
        let nodes = [
            Node("dense", Projection(units: 2), inputs: ["flat"]),
            Node("flat", Flat(), inputs: ["input"]),
            Node("input", Source(shape: [2, 2, 1])),
        ]
        let graph = try Graph(nodes: nodes, outputs: ["dense"])
        XCTAssertEqual(graph.nodes.map(\.name), ["input", "flat", "dense"])
        XCTAssertNoThrow(try graph.checkInvariants())
    }

    func testUnknownInput_isRejectedNamingTheNode() {
        let nodes = [Node("input", Source(shape: [4])), Node("dense", Projection(units: 2), inputs: ["missing"])]
        assertThrows(
            try Graph(nodes: nodes, outputs: ["dense"]),
            "node 'dense' reads 'missing', which is not a node of the graph")
    }

    func testCycle_isRejectedNamingTheNodes() {
        let nodes = [
            Node("input", Source(shape: [4])),
            Node("a", Sum(), inputs: ["input", "b"]),
            Node("b", Rectifier(), inputs: ["a"]),
        ]
        assertThrows(try Graph(nodes: nodes, outputs: ["b"]), "the graph has a cycle through 'a', 'b'")
    }

    func testDuplicateName_isRejected() {
        let nodes = [Node("x", Source(shape: [4])), Node("x", Rectifier(), inputs: ["x"])]
        assertThrows(try Graph(nodes: nodes, outputs: []), "two nodes are named 'x'; node names must be unique")
    }

    func testSumOfMismatchedShapes_isRejectedNamingTheNodeAndItsType() {
        var b = GraphBuilder()
        let x = b.add(Source(shape: [5, 5, 2]), name: "input")
        let a = b.add(Projection(units: 4), name: "four", inputs: [x])
        let c = b.add(Projection(units: 5), name: "five", inputs: [x])
        b.add(Sum(), name: "shortcut", inputs: [a, c])
        XCTAssertThrowsError(try b.build(outputs: [])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("node 'shortcut' (TestSum): "), text)
            XCTAssertTrue(text.contains("[5, 5, 4]") && text.contains("[5, 5, 5]"), text)
        }
    }

    func testUnknownOutput_isRejected() {
        assertThrows(
            try Graph(nodes: [Node("x", Source(shape: [4]))], outputs: ["y"]),
            "the output 'y' is not a node of the graph")
    }

    func testWeightsOfWrongShape_areRejectedNamingTheWeight() throws {
        var conv = Projection(units: 4)
        conv.weights = [Tensor(shape: [2, 4]), Tensor(shape: [4])]
        let nodes = [Node("input", Source(shape: [5, 5, 3])), Node("conv", conv, inputs: ["input"])]
        assertThrows(
            try Graph(nodes: nodes, outputs: ["conv"]), "node 'conv': weight 'kernel' has shape [2, 4], expected [3, 4]"
        )
    }

    func testPredict_rejectsInputOfWrongShape() throws {
        let graph = try TestGraphs.residual()
        assertThrows(
            try graph.predict([Tensor(shape: [2, 5, 6, 3])]),
            "input 'input' expects samples of shape [6, 6, 3], got [5, 6, 3]")
    }

    func testCounts_matchHandComputedParametersAndMACs() throws {
        let graph = try TestGraphs.residual()
        let costs = Dictionary(uniqueKeysWithValues: graph.costs.map { ($0.name, $0) })
        XCTAssertEqual(costs["conv_a"]?.params, 3 * 4 + 4)
        XCTAssertEqual(costs["conv_a"]?.macs, 6 * 6 * 3 * 4)
        XCTAssertEqual(costs["conv_b"]?.params, 3 * 4)
        XCTAssertEqual(costs["dense"]?.params, 8 * 3 + 3)
        XCTAssertEqual(costs["dense"]?.macs, 24)
        XCTAssertEqual(costs["add"]?.macs, 0)
        XCTAssertEqual(graph.parameterCount, 16 + 12 + 27)
        XCTAssertEqual(graph.macCount, graph.costs.reduce(0) { $0 + $1.macs })
    }

    func testGraphBackward_matchesFiniteDifferencesThroughBranches() throws {
        let graph = try TestGraphs.residual()
        let x = Tensor.random(shape: [2, 6, 6, 3], seed: 11)
        let r = Tensor.random(shape: [2, 3], seed: 12)
        func loss(_ g: Graph) throws -> Double {
            let y = try g.forwardTraining([x], context: ForwardContext(training: true)).outputs[g.outputNodeIndices[0]]
                .value
            return zip(y.scalars, r.scalars).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        }
        let tape = try graph.forwardTraining([x], context: ForwardContext(training: true))
        let grads = try graph.backward(tape, outputGradients: [r])
        let i = try index(of: "conv_a", in: graph)
        for k in [0, 5, 7, 11] {
            var plus = graph, minus = graph
            var w = graph.nodes[i].layer.weights
            let h: Float = 1e-2
            w[0].scalars[k] += h
            try plus.setWeights(w, ofNode: i)
            w[0].scalars[k] -= 2 * h
            try minus.setWeights(w, ofNode: i)
            let numeric = (try loss(plus) - loss(minus)) / Double(2 * h)
            XCTAssertEqual(
                Double(grads[i][0].scalars[k]), numeric, accuracy: 2e-2 * max(1, abs(numeric)), "kernel[\(k)]")
        }
    }
}
