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
/// `Tensor.distinctValues`. `epsilon` must be smaller than that distance.
@discardableResult
public func checkGradients<L: Layer>(
    _ layer: L, inputs: [Tensor],
    context: ForwardContext = ForwardContext(training: true, seed: 7),
    epsilon: Float = 5e-3,
    relativeTolerance: Double = 2e-2, absoluteTolerance: Double = 2e-3,
    samplesPerTensor: Int = 64, seed: UInt64 = 0x5EED,
    checkInputs: Bool = true, checkWeights: Bool = true,
    maxReportsPerTensor: Int = 5, reportFailures: Bool = true,
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
    func compare(name: String, value: Tensor, analytic: Tensor,
                 perturbed: (_ index: Int, _ newValue: Float) throws -> Double) throws {
        guard analytic.shape == value.shape else {
            fail("gradient of \(name) has shape \(analytic.shape), expected \(value.shape)")
            report.mismatches += 1
            return
        }
        var reported = 0, failures = 0
        for i in sampleIndices(value.count, samplesPerTensor, &sampler) {
            let original = value.scalars[i]
            let plus = original + epsilon, minus = original - epsilon
            let numeric = (try perturbed(i, plus) - perturbed(i, minus)) / (Double(plus) - Double(minus))
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
                    fail("gradient of \(name) at index \(i) \(multiIndex(i, in: value.shape)): analytic \(a), "
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
                return try loss(layer, xs)
            }
        }
    }
    if checkWeights {
        for k in 0..<trainable {
            let name = k < names.count ? "weight '\(names[k])'" : "weight #\(k)"
            try compare(name: name, value: layer.weights[k], analytic: grads.weights[k]) { i, v in
                var candidate = layer
                candidate.weights[k].scalars[i] = v
                return try loss(candidate, inputs)
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
