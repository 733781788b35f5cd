/// The one place where a number that comes from outside surgeon (a model file of any format, a
/// checkpoint or a run's state, a recipe, a plan, the command line) is checked before it sizes,
/// indexes or counts anything.
///
/// Readers call these functions and wrap the thrown `OutsideNumberError` with what they know (the
/// file, the layer, the key), so every refusal says where the value came from, what it was and
/// what would be accepted. Nothing here traps: a value that does not fit is an error, never an
/// `Int(_:)` of an out-of-range `Double` or an overflowing product.
public enum OutsideNumber {
    /// The largest size surgeon accepts for one extent (units, filters, a kernel side, a stride,
    /// a dimension of a shape, a count of samples): 2^31. No real network comes near it, and
    /// products of a few such values stay far from `Int.max`.
    public static let largestSize = 1 << 31

    /// The most elements one tensor may have (2^40, 4 TiB of floats): a bound that keeps every
    /// product of extents representable; what a machine can allocate is `MemoryBudget`'s concern.
    public static let largestElementCount = 1 << 40

    /// `value` as an integer in `range`; refuses NaN, infinities, fractions and values outside.
    public static func integer(
        _ value: Double, in range: ClosedRange<Int> = -largestSize...largestSize
    ) throws(OutsideNumberError) -> Int {
        guard value.isFinite else { throw .notFinite(value: "\(value)", accepted: describe(range)) }
        guard value == value.rounded() else { throw .notIntegral(value: "\(value)", accepted: describe(range)) }
        guard value >= Double(range.lowerBound), value <= Double(range.upperBound) else {
            throw .outOfRange(value: OutsideNumber.format(value), accepted: describe(range))
        }
        return Int(value)
    }

    /// An integer from a text (the command line, a recipe), in `range`.
    public static func integer(_ text: String, in range: ClosedRange<Int>) throws(OutsideNumberError) -> Int {
        guard let value = Int(text.trimmingWhitespace) else {
            if let d = Double(text.trimmingWhitespace) { return try integer(d, in: range) }
            throw .notANumber(value: text, accepted: describe(range))
        }
        return try integer(value, in: range)
    }

    /// `value` if it lies in `range`.
    public static func integer(_ value: Int, in range: ClosedRange<Int>) throws(OutsideNumberError) -> Int {
        guard range.contains(value) else { throw .outOfRange(value: "\(value)", accepted: describe(range)) }
        return value
    }

    /// A size: an integer in `1...largestSize` (or `0...largestSize` when `allowZero`).
    public static func size(_ value: Double, allowZero: Bool = false) throws(OutsideNumberError) -> Int {
        try integer(value, in: (allowZero ? 0 : 1)...largestSize)
    }

    /// A finite number in `range` (a rate, a ratio, a threshold): refuses NaN and infinities.
    public static func finite(
        _ value: Double,
        in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
    ) throws(OutsideNumberError) -> Double {
        guard value.isFinite else { throw .notFinite(value: "\(value)", accepted: describe(range)) }
        guard range.contains(value) else {
            throw .outOfRange(value: OutsideNumber.format(value), accepted: describe(range))
        }
        return value
    }

    /// The number of elements of `shape`: every extent in `0...largestSize` and the product at
    /// most `limit`, checked without overflow.
    public static func elementCount(
        of shape: [Int], limit: Int = largestElementCount
    ) throws(OutsideNumberError) -> Int {
        var product = 1
        for extent in shape {
            guard extent >= 0, extent <= largestSize else {
                throw .badShape(shape: shape, reason: "extent \(extent) is outside 0...2^31")
            }
            let (p, overflow) = product.multipliedReportingOverflow(by: extent)
            guard !overflow, p <= limit else {
                throw .badShape(shape: shape, reason: "it has more than \(describe(limit)) elements")
            }
            product = p
        }
        return product
    }

    /// `a * b`, or an error naming `what` when the product overflows or exceeds `limit`.
    public static func product(
        _ a: Int, _ b: Int, limit: Int = Int.max, what: String
    ) throws(OutsideNumberError) -> Int {
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow, p <= limit else {
            throw .outOfRange(value: "\(what) = \(a) x \(b)", accepted: "at most \(describe(limit))")
        }
        return p
    }

    // MARK: - Descriptions

    /// "an integer in 1...2^31": how refusals say what is accepted.
    public static func describe(_ range: ClosedRange<Int>) -> String {
        "an integer in \(describe(range.lowerBound))...\(describe(range.upperBound))"
    }

    /// "a finite number in 0...1".
    public static func describe(_ range: ClosedRange<Double>) -> String {
        let unbounded = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
        return range == unbounded
            ? "a finite number" : "a finite number in \(format(range.lowerBound))...\(format(range.upperBound))"
    }

    /// `2^31`, `-2^31`, `2^40` for powers of two from 2^20 on; decimal otherwise.
    static func describe(_ n: Int) -> String {
        if n >= 1 << 20, n.nonzeroBitCount == 1 { return "2^\(n.trailingZeroBitCount)" }
        if n <= -(1 << 20), n != Int.min, (-n).nonzeroBitCount == 1 { return "-2^\((-n).trailingZeroBitCount)" }
        return "\(n)"
    }

    static func format(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? "\(Int(d))" : "\(d)"
    }
}

/// A number from outside is not one surgeon accepts. `accepted` says what would be.
public enum OutsideNumberError: Error, Equatable, CustomStringConvertible {
    case notANumber(value: String, accepted: String)
    case notFinite(value: String, accepted: String)
    case notIntegral(value: String, accepted: String)
    case outOfRange(value: String, accepted: String)
    case badShape(shape: [Int], reason: String)

    public var description: String {
        switch self {
        case let .notANumber(value, accepted): return "'\(value)' is not a number (expected \(accepted))"
        case let .notFinite(value, accepted): return "\(value) is not finite (expected \(accepted))"
        case let .notIntegral(value, accepted): return "\(value) is not a whole number (expected \(accepted))"
        case let .outOfRange(value, accepted): return "\(value) is out of range (expected \(accepted))"
        case let .badShape(shape, reason): return "shape \(shape) is refused: \(reason)"
        }
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
