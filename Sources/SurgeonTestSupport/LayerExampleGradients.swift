import Layers
import SurgeonCore
import XCTest

/// What `checkLayerExampleGradients` found for one example.
public struct LayerExampleGradientReport: Sendable {
    /// The example's name.
    public var example: String
    /// What `checkGradients` compared (nothing for an example without inputs).
    public var gradients = GradientCheckReport()
    /// What is wrong besides mismatching gradients: trainable weights on a layer without
    /// inputs, or so many elements skipped at kinks that the check would say little.
    public var problems: [String] = []

    /// True when the analytic and numeric gradients agree and nothing else is wrong.
    public var passed: Bool { gradients.mismatches == 0 && problems.isEmpty }
}

/// The generic gradient check: a layer's `backward` against central finite differences
/// (`checkGradients`) on one of its type's examples, for every input element and trainable
/// weight (sampled for large tensors).
///
/// The inputs have the example's shapes (`LayerExample.inputShapes`, `height` x `width` images
/// with `channels` channels unless the example names its count), a batch of `batch`, and values
/// from `Tensor.distinctValues` over all inputs together: odd multiples of 0.01, so pairwise at
/// least 0.02 apart (no ties for max pooling or `Maximum`, even across inputs) and at least
/// 0.01 from every multiple of 0.1 (the kinks of ReLU, ReLU6, hard sigmoid, a ReLU threshold or
/// cap), both more than the finite-difference step. The weights are the layer's
/// `initialWeights` given random values by `randomizedWeights` (positive gammas and
/// variances), all from `seed`. Every pass runs with `context`: training mode, so
/// BatchNormalization uses (and differentiates through) batch statistics and Dropout a mask
/// the context's seed fixes.
///
/// A fused activation with kinks (`activation: relu` in the config) applies them to
/// pre-activations that move with the weights, where no choice of inputs avoids them: the
/// check steps around them (`GradientKinks`, with the layer's linear twin made from its own
/// config as the pre-activation) and fails when it had to skip more elements than it checked.
///
/// An example without inputs (a graph input) has nothing to differentiate: the check only
/// requires that the layer has no trainable weights. Failures are reported at `file`/`line`
/// with `reportFailures`; the report says what was compared either way.
@discardableResult
public func checkLayerExampleGradients(
    _ example: LayerExample, height: Int = 4, width: Int = 5, channels: Int = 3, batch: Int = 2,
    context: ForwardContext = ForwardContext(training: true, seed: 7), seed: UInt64 = 0,
    reportFailures: Bool = true, file: StaticString = #filePath, line: UInt = #line
) throws -> LayerExampleGradientReport {
    var result = LayerExampleGradientReport(example: example.name)
    let shapes = example.inputShapes(height: height, width: width, channels: channels)
    if shapes.isEmpty {
        let layer = try example.make()
        _ = try layer.outputShape(for: [])
        if layer.trainableWeightCount > 0 {
            result.problems.append(
                "\(example.name): a layer without inputs has \(layer.trainableWeightCount) trainable "
                    + "weight(s) that no gradient check reaches")
        }
    } else {
        let (layer, inputs) = try exampleLayerAndInputs(example, shapes: shapes, batch: batch, seed: seed)
        result.gradients = try checkGradients(
            layer, inputs: inputs, context: context, reportFailures: reportFailures,
            kinks: try fusedActivationKinks(layer), label: example.name, file: file, line: line)
        if result.gradients.skippedElements > result.gradients.checkedElements {
            result.problems.append(
                "\(example.name): \(result.gradients.skippedElements) element(s) skipped at kinks, only "
                    + "\(result.gradients.checkedElements) checked")
        }
    }
    if reportFailures {
        for problem in result.problems { XCTFail(problem, file: file, line: line) }
    }
    return result
}

/// The example's layer with randomised weights for inputs of `shapes`, and a batch of inputs
/// of those shapes whose values are distinct across all inputs (see
/// `checkLayerExampleGradients`).
public func exampleLayerAndInputs(
    _ example: LayerExample, shapes: [Shape], batch: Int, seed: UInt64
) throws -> (layer: any Layer, inputs: [Tensor]) {
    var layer = try example.make()
    var random = SeededRandom(seed: seed)
    let initial = try layer.initialWeights(for: shapes, random: &random)
    layer.weights = randomizedWeights(initial, names: layer.weightNames, random: &random)
    let counts = shapes.map { batch * Tensor.elementCount(of: $0) }
    let values = Tensor.distinctValues(
        shape: [counts.reduce(0, +)], seed: seed &+ 1, spacing: 0.02, margin: 0.01, avoiding: [])
    var inputs: [Tensor] = [], offset = 0
    for (shape, count) in zip(shapes, counts) {
        inputs.append(try Tensor(shape: [batch] + shape, scalars: Array(values.scalars[offset..<(offset + count)])))
        offset += count
    }
    return (layer, inputs)
}

/// The kinks of a layer's fused activation (its config's `activation`, Keras's convention for
/// convolutions and Dense) with the pre-activation they apply to: the output of the same layer
/// made from its config with a linear activation, given the weights of the layer at hand.
/// Nil when the layer has no such activation or it is smooth.
public func fusedActivationKinks(_ layer: any Layer) throws -> GradientKinks? {
    guard case let .string(name)? = layer.config["activation"] else { return nil }
    let kinks = try ActivationFunction(kerasName: name).kinks
    guard !kinks.isEmpty else { return nil }
    var config = layer.config
    config["activation"] = "linear"
    let twin = try type(of: layer).init(config: config)
    return GradientKinks(kinks: kinks) { candidate, inputs in
        var linear = twin
        linear.weights = candidate.weights
        return try linear.forward(inputs, context: .inference).value
    }
}

extension ActivationFunction {
    /// The points where the derivative jumps (relu's 0, relu6's 0 and 6, hard sigmoid's and
    /// hard silu's -3 and 3, the kink of leaky relu and selu at 0); empty for smooth functions.
    public var kinks: [Float] {
        switch self {
        case .relu, .leakyReLU, .selu: return [0]
        case .relu6: return [0, 6]
        case .hardSigmoid, .hardSilu: return [-3, 3]
        default: return []
        }
    }
}
