import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// The test tools themselves: a checker that cannot fail or a wrong reference would make every
/// other test meaningless.
final class TestSupportTests: XCTestCase {
    /// Doubles its input but claims the gradient is 3x (and scales its weight gradient wrongly).
    private struct WrongGradient: Layer {
        static let kerasClassName = "WrongGradient"
        var weights: [Tensor] = [Tensor.literal([1], [0.5])]
        var weightNames: [String] { ["w"] }
        init() {}
        init(config: LayerConfig) throws {}
        var config: LayerConfig { LayerConfig() }
        func outputShape(for inputShapes: [Shape]) throws -> Shape { inputShapes[0] }
        func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
            var y = inputs[0]
            y.scale(by: 2 * weights[0].scalars[0])
            return LayerOutput(y)
        }
        func backward(
            _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
        ) throws -> LayerGradients {
            var g = outputGradient
            g.scale(by: 3 * weights[0].scalars[0])
            return LayerGradients(inputs: [g], weights: [Tensor.literal([1], [0])])
        }
    }

    func testGradientCheck_detectsWrongInputAndWeightGradients() throws {
        let report = try checkGradients(WrongGradient(), inputs: [batch(2, [3, 4], seed: 1)], reportFailures: false)
        XCTAssertEqual(report.checkedElements, 25)
        XCTAssertGreaterThanOrEqual(report.mismatches, 20)
        XCTAssertGreaterThan(report.worstRatio, 1)
    }

    func testGradientCheck_passesACorrectLayerAndSamplesLargeTensors() throws {
        let report = try checkGradients(
            Activation(.tanh), inputs: [batch(2, [10, 10, 3], seed: 2)], samplesPerTensor: 50)
        XCTAssertEqual(report.mismatches, 0)
        XCTAssertGreaterThanOrEqual(report.checkedElements, 50)
        XCTAssertLessThanOrEqual(report.checkedElements, 52)
        XCTAssertLessThan(report.worstRatio, 1)
    }

    func testDistinctValues_areDistinctAndClearOfKinks() {
        let t = Tensor.distinctValues(shape: [4, 5, 6], seed: 3, spacing: 0.02, margin: 0.05, avoiding: [0, 1])
        let sorted = t.scalars.sorted()
        for i in 1..<sorted.count { XCTAssertGreaterThanOrEqual(sorted[i] - sorted[i - 1], 0.02 - 1e-6) }
        XCTAssertTrue(t.scalars.allSatisfy { abs($0) >= 0.05 && abs($0 - 1) >= 0.05 })
        XCTAssertEqual(
            Tensor.distinctValues(shape: [4, 5, 6], seed: 3, spacing: 0.02, margin: 0.05, avoiding: [0, 1]), t)
        XCTAssertNotEqual(t.scalars, sorted, "the order is shuffled")
    }

    func testRandom_isReproducibleAndInRange() {
        let a = Tensor.random(shape: [3, 4], seed: 9, range: 2...3)
        XCTAssertEqual(a, Tensor.random(shape: [3, 4], seed: 9, range: 2...3))
        XCTAssertNotEqual(a, Tensor.random(shape: [3, 4], seed: 10, range: 2...3))
        XCTAssertTrue(a.scalars.allSatisfy { (2...3).contains($0) })
    }

    func testReferenceConvolution_handComputedSamePadding() {
        // 3x3 input 1...9, 3x3 kernel of ones, 'same', stride 1: each output sums its 3x3
        // neighbourhood inside the image.
        let x = Tensor.literal([1, 3, 3, 1], (1...9).map(Float.init))
        let y = Reference.conv2D(input: x, kernel: Tensor(shape: [3, 3, 1, 1], repeating: 1), same: true)
        XCTAssertEqual(y, Tensor.literal([1, 3, 3, 1], [12, 21, 16, 27, 45, 33, 24, 39, 28]))
        // Padding split: even input, stride 2, kernel 2 -> no padding; kernel 3 -> 1 after only.
        XCTAssertEqual(Reference.axis(input: 4, kernel: 3, stride: 2, same: true).padBefore, 0)
        XCTAssertEqual(Reference.axis(input: 5, kernel: 3, stride: 2, same: true).padBefore, 1)
        XCTAssertEqual(Reference.axis(input: 5, kernel: 3, stride: 1, dilation: 2, same: true).padBefore, 2)
        XCTAssertEqual(Reference.axis(input: 7, kernel: 3, stride: 2, same: false).output, 3)
    }
}
