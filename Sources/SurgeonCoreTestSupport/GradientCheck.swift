import SurgeonCore
import XCTest

/// What a gradient check compared.
public struct GradientCheckReport: Sendable {
    /// Elements compared, over all inputs and trainable weights.
    public var checkedElements = 0
    /// Elements whose analytic and numeric derivatives disagreed beyond tolerance.
    public var mismatches = 0
    /// The largest `|analytic - numeric|` seen.
    public var maxAbsoluteError: Double = 0
    /// The largest `|analytic - numeric| / allowed` seen (below 1 passes).
    public var worstRatio: Double = 0
    /// Elements left out because a perturbation moved a pre-activation across a kink (see
    /// `GradientKinks`); not counted in `checkedElements`.
    public var skippedElements = 0

    public init() {}
}

/// Where a layer is not differentiable, for `checkGradients` to step around: `preActivation`
/// gives, for the layer (with perturbed weights) and its inputs, the tensor a function with
/// kinks is applied to element by element, and `kinks` the points where that function's
/// derivative jumps. An element whose perturbation moves any pre-activation across a kink is
/// skipped: there the central difference measures the jump, not the derivative.
public struct GradientKinks: Sendable {
    public var kinks: [Float]
    public var preActivation: @Sendable (_ layer: any Layer, _ inputs: [Tensor]) throws -> Tensor

    public init(
        kinks: [Float], preActivation: @escaping @Sendable (_ layer: any Layer, _ inputs: [Tensor]) throws -> Tensor
    ) {
        self.kinks = kinks
        self.preActivation = preActivation
    }

    /// For each pre-activation, how many kinks lie below it: two values on one side of every
    /// kink have the same count.
    func sides(_ layer: any Layer, _ inputs: [Tensor]) throws -> [Int] {
        try preActivation(layer, inputs).scalars.map { z in kinks.reduce(0) { $0 + (z > $1 ? 1 : 0) } }
    }
}

/// Checks a layer's `backward` against central finite differences, for every input element and
/// every trainable weight element (a seeded random sample of `samplesPerTensor` elements for
/// larger tensors).
///
/// The loss is `L = sum(output * R)` for a fixed random `R` (uniform in [-1, 1], from `seed`),
/// accumulated in Double, so the analytic gradients are `backward(R, ...)`. Every forward pass,
/// including the perturbed ones, runs with `context` (keep it in training mode for
/// BatchNormalization, whose batch statistics then move with the perturbation as they should,
/// and for Dropout, whose mask the seed fixes). The numeric derivative divides by the
/// perturbation actually representable in Float32.
///
/// A pair passes when `|analytic - numeric| <= absoluteTolerance + relativeTolerance *
/// max(|analytic|, |numeric|)`. Failures are reported with `XCTFail` at the caller's
/// `file`/`line`, naming the tensor (`input #k` or `weight 'name'`), the flat and
/// multi-dimensional index and both values (at most `maxReportsPerTensor` per tensor plus a
/// count of the rest).
///
/// `label` (e.g. the case of a table-driven test) prefixes every failure message.
///
/// With `reportFailures: false` nothing is asserted; inspect the returned report instead
/// (used to test the checker itself).
///
/// Layers with kinks (ReLU, max pooling) need inputs away from the kinks and without ties; see
/// `Tensor.distinctValues`. `epsilon` must be smaller than that distance. Kinks the inputs
/// cannot steer clear of (a fused relu's, at pre-activations that move with the weights) are
/// stepped around with `kinks`.
@discardableResult
public func checkGradients<L: Layer>(
    _ layer: L, inputs: [Tensor],
    context: ForwardContext = ForwardContext(training: true, seed: 7),
    epsilon: Float = 5e-3,
    relativeTolerance: Double = 2e-2, absoluteTolerance: Double = 2e-3,
    samplesPerTensor: Int = 64, seed: UInt64 = 0x5EED,
    checkInputs: Bool = true, checkWeights: Bool = true,
    maxReportsPerTensor: Int = 5, reportFailures: Bool = true, kinks: GradientKinks? = nil,
    label: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) throws -> GradientCheckReport {
    var report = GradientCheckReport()
    func fail(_ message: String) {
        guard reportFailures else { return }
        let prefix = label()
        XCTFail(prefix.isEmpty ? message : "\(prefix): \(message)", file: file, line: line)
    }
    let output = try layer.forward(inputs, context: context)
    let r = Tensor.random(shape: output.value.shape, seed: seed, range: -1...1)

    let baseSides = try kinks?.sides(layer, inputs)

    /// True when the pre-activations of `candidate` on `xs` lie on other sides of the kinks.
    func crossesKink(_ candidate: L, _ xs: [Tensor]) throws -> Bool {
        guard let kinks, let baseSides else { return false }
        return try kinks.sides(candidate, xs) != baseSides
    }

    func loss(_ candidate: L, _ xs: [Tensor]) throws -> Double {
        let y = try candidate.forward(xs, context: context).value
        guard y.shape == r.shape else {
            throw GradientCheckError.outputShapeChanged(expected: r.shape, actual: y.shape)
        }
        var s = 0.0
        y.scalars.withUnsafeBufferPointer { yp in
            r.scalars.withUnsafeBufferPointer { rp in
                for i in 0..<yp.count { s += Double(yp[i]) * Double(rp[i]) }
            }
        }
        return s
    }

    let grads = try layer.backward(r, inputs: inputs, output: output, context: context)
    let trainable = layer.trainableWeightCount
    let names = layer.weightNames

    guard grads.inputs.count == inputs.count else {
        fail("backward returned \(grads.inputs.count) input gradient(s) for \(inputs.count) input(s)")
        report.mismatches += 1
        return report
    }
    guard grads.weights.count == trainable else {
        fail("backward returned \(grads.weights.count) weight gradient(s) for \(trainable) trainable weight(s)")
        report.mismatches += 1
        return report
    }

    var sampler = SeededRandom(seed: seed ^ 0xA5A5_5A5A)

    /// Compares one tensor's analytic gradient with finite differences of `perturbed`.
    func compare(
        name: String, value: Tensor, analytic: Tensor,
        perturbed: (_ index: Int, _ newValue: Float) throws -> (loss: Double, crossesKink: Bool)
    ) throws {
        guard analytic.shape == value.shape else {
            fail("gradient of \(name) has shape \(analytic.shape), expected \(value.shape)")
            report.mismatches += 1
            return
        }
        var reported = 0, failures = 0
        for i in sampleIndices(value.count, samplesPerTensor, &sampler) {
            let original = value.scalars[i]
            let plus = original + epsilon, minus = original - epsilon
            let up = try perturbed(i, plus), down = try perturbed(i, minus)
            if up.crossesKink || down.crossesKink {
                report.skippedElements += 1
                continue
            }
            let numeric = (up.loss - down.loss) / (Double(plus) - Double(minus))
            let a = Double(analytic.scalars[i])
            let diff = abs(a - numeric)
            let allowed = absoluteTolerance + relativeTolerance * max(abs(a), abs(numeric))
            report.checkedElements += 1
            report.maxAbsoluteError = max(report.maxAbsoluteError, diff.isNaN ? .infinity : diff)
            report.worstRatio = max(report.worstRatio, diff.isNaN ? .infinity : diff / allowed)
            if !(diff <= allowed) {
                failures += 1
                report.mismatches += 1
                if reported < maxReportsPerTensor {
                    reported += 1
                    fail(
                        "gradient of \(name) at index \(i) \(multiIndex(i, in: value.shape)): analytic \(a), "
                            + "numeric \(numeric) (difference \(diff) > allowed \(allowed))")
                }
            }
        }
        if failures > reported {
            fail("gradient of \(name): \(failures - reported) more mismatch(es) not shown")
        }
    }

    if checkInputs {
        for k in inputs.indices {
            try compare(name: "input #\(k)", value: inputs[k], analytic: grads.inputs[k]) { i, v in
                var xs = inputs
                xs[k].scalars[i] = v
                return (try loss(layer, xs), try crossesKink(layer, xs))
            }
        }
    }
    if checkWeights {
        for k in 0..<trainable {
            let name = k < names.count ? "weight '\(names[k])'" : "weight #\(k)"
            try compare(name: name, value: layer.weights[k], analytic: grads.weights[k]) { i, v in
                var candidate = layer
                candidate.weights[k].scalars[i] = v
                return (try loss(candidate, inputs), try crossesKink(candidate, inputs))
            }
        }
    }
    return report
}

/// A gradient check could not run.
public enum GradientCheckError: Error, CustomStringConvertible {
    case outputShapeChanged(expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case let .outputShapeChanged(expected, actual):
            return "a perturbed forward pass returned shape \(actual), expected \(expected)"
        }
    }
}

/// All of `0..<count` when small enough, else `samples` distinct indices drawn with `random`
/// (always including the first and last element), in increasing order.
func sampleIndices(_ count: Int, _ samples: Int, _ random: inout SeededRandom) -> [Int] {
    guard count > samples else { return Array(0..<count) }
    var pool = Array(0..<count)
    for j in 0..<samples {
        let k = j + Int(random.next() % UInt64(count - j))
        pool.swapAt(j, k)
    }
    var chosen = Set(pool.prefix(samples))
    chosen.insert(0)
    chosen.insert(count - 1)
    return chosen.sorted()
}
