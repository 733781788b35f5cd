import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class GraphTests: XCTestCase {
    private func residualGraph() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [6, 6, 3]), name: "input")
        let a = b.add(Conv2D(filters: 4, kernelSize: [3, 3], padding: .same), name: "conv_a", inputs: [x])
        let c = b.add(Conv2D(filters: 4, kernelSize: [1, 1]), name: "conv_b", inputs: [x])
        let s = b.add(Add(), name: "add", inputs: [a, c])
        let cat = b.add(Concatenate(), name: "concat", inputs: [s, a])
        let g = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [cat])
        let d = b.add(Dense(units: 3), name: "dense", inputs: [g])
        return try b.build(outputs: [d], seed: 3)
    }

    func testResidualAndConcatenatingGraph_infersShapesAndPassesInvariants() throws {
        let graph = try residualGraph()
        XCTAssertNoThrow(try graph.checkInvariants())
        XCTAssertEqual(graph.shapes[graph.index(of: "concat")!], [6, 6, 8])
        XCTAssertEqual(graph.shapes[graph.index(of: "dense")!], [3])
        XCTAssertEqual(graph.consumers[graph.index(of: "conv_a")!].count, 2)
    }

    func testNodesGivenOutOfOrder_areSortedTopologically() throws {
        let nodes = [
            Node("dense", Dense(units: 2), inputs: ["flat"]),
            Node("flat", Flatten(), inputs: ["input"]),
            Node("input", InputLayer(shape: [2, 2, 1])),
        ]
        let graph = try Graph(nodes: nodes, outputs: ["dense"])
        XCTAssertEqual(graph.nodes.map(\.name), ["input", "flat", "dense"])
        XCTAssertNoThrow(try graph.checkInvariants())
    }

    func testUnknownInput_isRejectedNamingTheNode() {
        let nodes = [Node("input", InputLayer(shape: [4])), Node("dense", Dense(units: 2), inputs: ["missing"])]
        XCTAssertThrowsError(try Graph(nodes: nodes, outputs: ["dense"])) { error in
            XCTAssertEqual("\(error)", "node 'dense' reads 'missing', which is not a node of the graph")
        }
    }

    func testCycle_isRejectedNamingTheNodes() {
        let nodes = [
            Node("input", InputLayer(shape: [4])),
            Node("a", Add(), inputs: ["input", "b"]),
            Node("b", Activation(.relu), inputs: ["a"]),
        ]
        XCTAssertThrowsError(try Graph(nodes: nodes, outputs: ["b"])) { error in
            XCTAssertEqual("\(error)", "the graph has a cycle through 'a', 'b'")
        }
    }

    func testDuplicateName_isRejected() {
        let nodes = [Node("x", InputLayer(shape: [4])), Node("x", Activation(.relu), inputs: ["x"])]
        XCTAssertThrowsError(try Graph(nodes: nodes, outputs: [])) { error in
            XCTAssertEqual("\(error)", "two nodes are named 'x'; node names must be unique")
        }
    }

    func testAddOfMismatchedShapes_isRejectedNamingTheNode() {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [5, 5, 2]), name: "input")
        let a = b.add(Conv2D(filters: 4, kernelSize: [3, 3]), name: "conv_valid", inputs: [x])
        let c = b.add(Conv2D(filters: 4, kernelSize: [3, 3], padding: .same), name: "conv_same", inputs: [x])
        b.add(Add(), name: "shortcut", inputs: [a, c])
        XCTAssertThrowsError(try b.build(outputs: [])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("node 'shortcut' (Add): "), text)
            XCTAssertTrue(text.contains("[3, 3, 4]") && text.contains("[5, 5, 4]"), text)
        }
    }

    func testUnknownOutput_isRejected() {
        XCTAssertThrowsError(try Graph(nodes: [Node("x", InputLayer(shape: [4]))], outputs: ["y"])) { error in
            XCTAssertEqual("\(error)", "the output 'y' is not a node of the graph")
        }
    }

    func testWeightsOfWrongShape_areRejectedNamingTheWeight() throws {
        var conv = Conv2D(filters: 4, kernelSize: [3, 3])
        conv.weights = [Tensor(shape: [3, 3, 2, 4]), Tensor(shape: [4])]
        let nodes = [Node("input", InputLayer(shape: [5, 5, 3])), Node("conv", conv, inputs: ["input"])]
        XCTAssertThrowsError(try Graph(nodes: nodes, outputs: ["conv"])) { error in
            XCTAssertEqual("\(error)", "node 'conv': weight 'kernel' has shape [3, 3, 2, 4], expected [3, 3, 3, 4]")
        }
    }

    func testPredict_rejectsInputOfWrongShape() throws {
        let graph = try residualGraph()
        XCTAssertThrowsError(try graph.predict([Tensor(shape: [2, 5, 6, 3])])) { error in
            XCTAssertEqual("\(error)", "input 'input' expects samples of shape [6, 6, 3], got [5, 6, 3]")
        }
    }

    func testCounts_matchHandComputedParametersAndMACs() throws {
        let graph = try residualGraph()
        let costs = Dictionary(uniqueKeysWithValues: graph.costs.map { ($0.name, $0) })
        XCTAssertEqual(costs["conv_a"]?.params, 3 * 3 * 3 * 4 + 4)
        XCTAssertEqual(costs["conv_a"]?.macs, 6 * 6 * 4 * 27)
        XCTAssertEqual(costs["conv_b"]?.macs, 6 * 6 * 4 * 3)
        XCTAssertEqual(costs["dense"]?.params, 8 * 3 + 3)
        XCTAssertEqual(costs["dense"]?.macs, 24)
        XCTAssertEqual(graph.parameterCount, 112 + 16 + 27)
        XCTAssertEqual(graph.macCount, graph.costs.reduce(0) { $0 + $1.macs })
    }

    func testGraphBackward_matchesFiniteDifferencesThroughBranches() throws {
        let graph = try residualGraph()
        let x = Tensor.random(shape: [2, 6, 6, 3], seed: 11)
        let r = Tensor.random(shape: [2, 3], seed: 12)
        func loss(_ g: Graph) throws -> Double {
            let y = try g.forwardTraining([x], context: ForwardContext(training: true)).outputs[g.outputNodeIndices[0]].value
            return zip(y.scalars, r.scalars).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        }
        let tape = try graph.forwardTraining([x], context: ForwardContext(training: true))
        let grads = try graph.backward(tape, outputGradients: [r])
        let i = graph.index(of: "conv_a")!
        for k in [0, 17, 63, 107] {
            var plus = graph, minus = graph
            var w = graph.nodes[i].layer.weights
            let h: Float = 1e-2
            w[0].scalars[k] += h
            try plus.setWeights(w, ofNode: i)
            w[0].scalars[k] -= 2 * h
            try minus.setWeights(w, ofNode: i)
            let numeric = (try loss(plus) - loss(minus)) / Double(2 * h)
            XCTAssertEqual(Double(grads[i][0].scalars[k]), numeric, accuracy: 2e-2 * max(1, abs(numeric)), "kernel[\(k)]")
        }
    }
}
