import SurgeonCore
import XCTest

/// Asserts that two tensors have one shape and that every element pair satisfies
/// `|a - b| <= tolerance * max(1, |a|, |b|)` (absolute near zero, relative for large values).
/// On failure the message gives the largest difference, its flat and multi-dimensional index,
/// both values, and how many elements are out of tolerance.
public func assertClose(
    _ a: Tensor, _ b: Tensor, tolerance: Float = 1e-5, _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    if let problem = closenessProblem(a, b, tolerance: tolerance, message()) {
        XCTFail(problem, file: file, line: line)
    }
}

/// What `assertClose` would report, or nil when the tensors are close: for checkers that
/// return their problems instead of failing (so that a test can show they fail).
public func closenessProblem(_ a: Tensor, _ b: Tensor, tolerance: Float = 1e-5, _ message: String = "") -> String? {
    let prefix = message.isEmpty ? "" : message + ": "
    guard a.shape == b.shape else { return "\(prefix)shapes differ: \(a.shape) vs \(b.shape)" }
    var worst = -1, worstExcess: Float = 0, worstDiff: Float = 0, bad = 0
    for i in 0..<a.count {
        let x = a.scalars[i], y = b.scalars[i]
        if x.isNaN || y.isNaN {
            if !(x.isNaN && y.isNaN) {
                bad += 1
                if worstExcess != .infinity { worst = i; worstExcess = .infinity; worstDiff = .nan }
            }
            continue
        }
        if x == y { continue }  // also equal infinities
        let diff = abs(x - y)
        let allowed = tolerance * max(1, abs(x), abs(y))
        if !(diff <= allowed) {
            bad += 1
            let excess = diff.isFinite ? diff / allowed : .infinity
            if excess > worstExcess || worst < 0 { worst = i; worstExcess = excess; worstDiff = diff }
        }
    }
    guard worst >= 0 else { return nil }
    return "\(prefix)\(bad) of \(a.count) element(s) differ by more than \(tolerance) (relative beyond 1); "
        + "worst at index \(worst) \(multiIndex(worst, in: a.shape)): \(a.scalars[worst]) vs \(b.scalars[worst]) "
        + "(difference \(worstDiff))"
}

/// The multi-dimensional index of flat index `i` in a row-major tensor of `shape`.
public func multiIndex(_ i: Int, in shape: [Int]) -> [Int] {
    var rest = i
    var index = [Int](repeating: 0, count: shape.count)
    for axis in shape.indices.reversed() where shape[axis] > 0 {
        index[axis] = rest % shape[axis]
        rest /= shape[axis]
    }
    return index
}

extension Tensor {
    /// Uniform random values in `range`, reproducible from `seed`.
    public static func random(shape: [Int], seed: UInt64, range: ClosedRange<Float> = -1...1) -> Tensor {
        var random = SeededRandom(seed: seed)
        var t = Tensor(shape: shape)
        for i in 0..<t.count { t.scalars[i] = random.nextFloat(in: range.lowerBound, range.upperBound) }
        return t
    }

    /// A tensor built from `values` (precondition: their count matches `shape`), for
    /// hand-written expectations in tests.
    public static func literal(_ shape: [Int], _ values: [Float]) -> Tensor {
        do { return try Tensor(shape: shape, scalars: values) } catch { preconditionFailure("\(error)") }
    }

    /// Values suited to finite-difference checks of layers with kinks (ReLU, max pooling):
    /// pairwise at least `spacing` apart (no ties within any window, even after a perturbation
    /// smaller than `spacing`), at least `margin` away from every value in `kinks`, spread
    /// symmetrically around `center`, in an order shuffled by `seed`.
    ///
    /// Use a finite-difference step below both `spacing` and `margin` (the default step of
    /// `checkGradients`, 5e-3, is).
    public static func distinctValues(
        shape: [Int], seed: UInt64, spacing: Float = 0.02, margin: Float = 0.05,
        avoiding kinks: [Float] = [0], center: Float = 0
    ) -> Tensor {
        let count = Tensor.elementCount(of: shape)
        var values: [Float] = []
        values.reserveCapacity(count)
        var j = 0
        while values.count < count {
            let magnitude = spacing * (Float(j / 2) + 0.5)
            let v = center + (j % 2 == 0 ? magnitude : -magnitude)
            j += 1
            if kinks.contains(where: { abs(v - $0) < margin }) { continue }
            values.append(v)
        }
        var random = SeededRandom(seed: seed)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) {
                let k = Int(random.next() % UInt64(i + 1))
                values.swapAt(i, k)
            }
        }
        return Tensor.literal(shape, values)
    }
}
