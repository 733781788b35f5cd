import Foundation
import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// Every registered layer's `backward` agrees with finite differences on every example its
/// type declares (`checkLayerExampleGradients`), and the check fails for a wrong backward.
final class GradientConformanceTests: XCTestCase {
    /// The examples of `registry` whose gradient check fails, with the report of each.
    private func failingExamples(_ registry: LayerRegistry) throws -> [String: LayerExampleGradientReport] {
        var failures: [String: LayerExampleGradientReport] = [:]
        for type in registry.registeredTypes {
            for example in type.examples {
                let report = try checkLayerExampleGradients(example, reportFailures: false)
                if !report.passed { failures[example.name] = report }
            }
        }
        return failures
    }

    func testEveryRegisteredLayer_backwardMatchesFiniteDifferences() throws {
        let start = Date()
        var checked = 0, elements = 0, skipped = 0
        for type in LayerRegistry.standard.registeredTypes {
            for example in type.examples {
                let report = try checkLayerExampleGradients(example)
                checked += 1
                elements += report.gradients.checkedElements
                skipped += report.gradients.skippedElements
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 100)
        XCTAssertGreaterThan(elements, 8_000)
        // Only fused activations' kinks are stepped around, and only where a perturbation crosses one.
        XCTAssertLessThan(skipped, elements / 10)
        print(
            "gradient check: \(checked) examples, \(elements) elements compared, \(skipped) skipped at kinks, "
                + String(format: "%.2f s", Date().timeIntervalSince(start)))
    }

    func testGradientCheck_failsOnABackwardOffByAFactor() throws {
        let report = try checkLayerExampleGradients(OffByAFactor.examples[0], reportFailures: false)
        XCTAssertFalse(report.passed)
        XCTAssertGreaterThan(report.gradients.mismatches, report.gradients.checkedElements / 2)
        // The registry-driven test names it once it is registered.
        var registry = LayerRegistry.standard
        try registry.register(OffByAFactor.self)
        XCTAssertEqual(Array(try failingExamples(registry).keys), ["OffByAFactor"])
        // The right backward passes.
        XCTAssertTrue(try checkLayerExampleGradients(ChannelScale.examples[0]).passed)
    }

    func testGradientCheck_stepsAroundTheKinksOfAFusedActivationOnly() throws {
        let relu = try checkLayerExampleGradients(
            LayerExample("Conv2DTranspose relu") {
                Conv2DTranspose(filters: 5, kernelSize: [3, 3], strides: [2, 2], padding: .same, activation: .relu)
            })
        XCTAssertTrue(relu.passed)
        XCTAssertGreaterThan(relu.gradients.skippedElements, 0)
        // Without stepping around them, finite differences cross the kinks and disagree.
        let (layer, inputs) = try exampleLayerAndInputs(
            LayerExample("relu") {
                Conv2DTranspose(filters: 5, kernelSize: [3, 3], strides: [2, 2], padding: .same, activation: .relu)
            }, shapes: [[4, 5, 3]], batch: 2, seed: 0)
        XCTAssertGreaterThan(try checkGradients(layer, inputs: inputs, reportFailures: false).mismatches, 0)
        let tanh = try checkLayerExampleGradients(
            LayerExample("Conv2DTranspose tanh") {
                Conv2DTranspose(filters: 5, kernelSize: [3, 3], strides: [2, 2], padding: .same, activation: .tanh)
            })
        XCTAssertTrue(tanh.passed)
        XCTAssertEqual(tanh.gradients.skippedElements, 0)
        XCTAssertNil(try fusedActivationKinks(Conv2D(filters: 2, kernelSize: [1, 1], activation: .swish)))
        XCTAssertEqual(try fusedActivationKinks(Dense(units: 2, activation: .relu6))?.kinks, [0, 6])
    }

    func testGradientCheck_ofAGraphInput_hasNothingToDifferentiate() throws {
        let report = try checkLayerExampleGradients(InputLayer.examples[0])
        XCTAssertTrue(report.passed)
        XCTAssertEqual(report.gradients.checkedElements, 0)
    }

    func testGradientCheck_inputsAreDistinctAndClearOfKinks() throws {
        let example = LayerExample("Maximum of three", inputs: 3) { Maximum() }
        let (_, inputs) = try exampleLayerAndInputs(
            example, shapes: example.inputShapes(height: 4, width: 5, channels: 3),
            batch: 2, seed: 1)
        XCTAssertEqual(inputs.map(\.shape), Array(repeating: [2, 4, 5, 3], count: 3))
        let values = inputs.flatMap(\.scalars)
        XCTAssertEqual(Set(values).count, values.count, "no ties, even across inputs")
        for v in values {
            let tenths = (v * 10).rounded() / 10
            XCTAssertGreaterThanOrEqual(abs(v - tenths), 0.01 - 1e-5, "\(v) is near the kink \(tenths)")
        }
    }
}

/// ChannelScale's forward with a backward that scales the input gradient by 1.5 too many.
private struct OffByAFactor: PerChannelScaleLayer {
    static let kerasClassName = "OffByAFactor"
    static var examples: [LayerExample] { [LayerExample("OffByAFactor") { OffByAFactor() }] }
    var weights: [Tensor] = []
    init() {}
    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        var scale = ChannelScale()
        scale.weights = weights
        var gradients = try scale.backward(outputGradient, inputs: inputs, output: output, context: context)
        gradients.inputs[0].scale(by: 1.5)
        return gradients
    }
}
