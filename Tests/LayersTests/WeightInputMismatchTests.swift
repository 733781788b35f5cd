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
        assertThrows(try conv.forward([Tensor(shape: [1, 5, 5, 4])], context: .inference),
                     "Conv2D with a kernel for 1 input channels got input [1, 5, 5, 4]")
    }

    func testDepthwiseConv2D_refusesInputWithOtherChannelCount() throws {
        var dw = DepthwiseConv2D(kernelSize: [3, 3], padding: .same)
        var random = SeededRandom(seed: 1)
        dw.weights = try dw.initialWeights(for: [[5, 5, 3]], random: &random)
        assertThrows(try dw.forward([Tensor(shape: [1, 5, 5, 2])], context: .inference),
                     "DepthwiseConv2D with a kernel for 3 input channels got input [1, 5, 5, 2]")
    }

    func testDense_refusesInputWithOtherFeatureCount() throws {
        var dense = Dense(units: 2)
        var random = SeededRandom(seed: 1)
        dense.weights = try dense.initialWeights(for: [[7]], random: &random)
        assertThrows(try dense.forward([Tensor(shape: [1, 5])], context: .inference),
                     "Dense with a kernel for 7 features got input [1, 5]")
    }
}
