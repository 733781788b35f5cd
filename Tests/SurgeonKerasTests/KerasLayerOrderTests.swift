import XCTest

@testable import SurgeonKeras

/// `model.layers` order is recomputed from the graph as Keras does (KERAS-FORMAT 3.3).
final class KerasLayerOrderTests: XCTestCase {
    private func entry(_ name: String, _ inputs: [String]) -> KerasLayerEntry {
        KerasLayerEntry(
            name: name, className: "X", module: nil, registeredName: nil, config: [:],
            calls: inputs.isEmpty
                ? []
                : [
                    KerasCall(
                        inputs: inputs.map { KerasTensorRef(layer: $0, node: 0, tensor: 0) },
                        asList: inputs.count > 1, keywordTensors: [])
                ])
    }

    /// The reference model of the format notes: `dw` comes before `branch_a` although it was
    /// created later, because it is farther from the output.
    func testOrder_sortsByDistanceToTheOutputThenTraversal() {
        let layers = [
            entry("img", []), entry("stem_conv", ["img"]), entry("stem_bn", ["stem_conv"]),
            entry("stem_relu", ["stem_bn"]),
            entry("branch_a", ["stem_relu"]), entry("dw", ["stem_relu"]), entry("bn_noscale", ["dw"]),
            entry("add1", ["branch_a", "bn_noscale"]), entry("sep", ["add1"]),
            entry("cat", ["add1", "sep", "stem_relu"]),
            entry("deconv", ["cat"]), entry("ln", ["deconv"]), entry("gap", ["ln"]), entry("head", ["gap"]),
            entry("head2", ["head"]),
        ]
        let order = KerasLayerOrder.order(layers: layers.reversed(), inputs: ["img"], outputs: ["head2"])
        XCTAssertEqual(
            order,
            [
                "img", "stem_conv", "stem_bn", "stem_relu", "dw", "branch_a", "bn_noscale", "add1", "sep", "cat",
                "deconv", "ln", "gap", "head", "head2",
            ])
    }

    func testOrder_severalOutputsAndAnUnusedInput() {
        let layers = [entry("x", []), entry("unused", []), entry("a", ["x"]), entry("b", ["a"]), entry("c", ["a"])]
        let order = KerasLayerOrder.order(layers: layers, inputs: ["x", "unused"], outputs: ["c", "b"])
        // a is at depth 1, x at 2; the unused input gets depth 0 and traversal -1, before b and c.
        XCTAssertEqual(order, ["x", "a", "unused", "c", "b"])
    }
}
