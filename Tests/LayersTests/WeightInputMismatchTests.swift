import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// Layers called directly (not through a `Graph`) must refuse inputs that do not match their
/// weights instead of reading past a buffer.
final class WeightInputMismatchTests: XCTestCase {
    func testConv2D_refusesInputWithOtherChannelCount() throws {
        var conv = Conv2D(filters: 2, kernelSize: [3, 3])
        var random = SeededRandom(seed: 1)
        conv.weights = try conv.initialWeights(for: [[5, 5, 1]], random: &random)
        assertThrows(
            try conv.forward([Tensor(shape: [1, 5, 5, 4])], context: .inference),
            "Conv2D with a kernel for 1 input channels got input [1, 5, 5, 4]")
    }

    func testDepthwiseConv2D_refusesInputWithOtherChannelCount() throws {
        var dw = DepthwiseConv2D(kernelSize: [3, 3], padding: .same)
        var random = SeededRandom(seed: 1)
        dw.weights = try dw.initialWeights(for: [[5, 5, 3]], random: &random)
        assertThrows(
            try dw.forward([Tensor(shape: [1, 5, 5, 2])], context: .inference),
            "DepthwiseConv2D with a kernel for 3 input channels got input [1, 5, 5, 2]")
    }

    func testDense_refusesInputWithOtherFeatureCount() throws {
        var dense = Dense(units: 2)
        var random = SeededRandom(seed: 1)
        dense.weights = try dense.initialWeights(for: [[7]], random: &random)
        assertThrows(
            try dense.forward([Tensor(shape: [1, 5])], context: .inference),
            "Dense with a kernel for 7 features got input [1, 5]")
    }
}

/// Folding constants into a bias must not depend on a dictionary's iteration order (Swift seeds
/// hashing per process, so an unordered float sum differs between runs).
final class ConstantFoldingOrderTests: XCTestCase {
    func testFoldedBias_isIndependentOfDictionaryOrder() throws {
        var conv = Conv2D(filters: 3, kernelSize: [3, 3], padding: .valid)
        var random = SeededRandom(seed: 4)
        conv.weights = try conv.initialWeights(for: [[6, 6, 40]], random: &random)
        var small: [Int: Float] = [:], large = [Int: Float](minimumCapacity: 4096)
        for c in stride(from: 0, to: 40, by: 1) {
            let value = Float(c) * 0.37 - 5.1
            small[c] = value
        }
        for c in stride(from: 39, through: 0, by: -1) { large[c] = Float(c) * 0.37 - 5.1 }
        XCTAssertNotEqual(Array(small.keys), Array(large.keys), "the two dictionaries should iterate differently")
        let a = try XCTUnwrap(conv.foldingConstantInputs(small, inputShapes: [[6, 6, 40]]))
        let b = try XCTUnwrap(conv.foldingConstantInputs(large, inputShapes: [[6, 6, 40]]))
        XCTAssertTrue(a.exact)
        XCTAssertEqual(a.layer.weights[1].scalars.map(\.bitPattern), b.layer.weights[1].scalars.map(\.bitPattern))
    }
}
