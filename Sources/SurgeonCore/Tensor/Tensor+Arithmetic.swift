/// Element-wise helpers used by layers, optimizers and tests.
extension Tensor {
    /// Adds `other` element-wise (shapes must have equal counts).
    public mutating func add(_ other: Tensor) {
        precondition(count == other.count, "add: \(shape) vs \(other.shape)")
        scalars.withUnsafeMutableBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                for i in 0..<a.count { a[i] += b[i] }
            }
        }
    }

    /// `self + other` element by element, in a new tensor: one pass, where a copy and `add`
    /// would take two (and an allocation) when `self` is shared.
    public func adding(_ other: Tensor) -> Tensor {
        precondition(count == other.count, "adding: \(shape) vs \(other.shape)")
        return Tensor(shape: shape) { out in
            scalars.withUnsafeBufferPointer { a in
                other.scalars.withUnsafeBufferPointer { b in
                    for i in 0..<out.count { out[i] = a[i] + b[i] }
                }
            }
        }
    }

    /// Multiplies every scalar by `factor`.
    public mutating func scale(by factor: Float) {
        scalars.withUnsafeMutableBufferPointer { a in
            for i in 0..<a.count { a[i] *= factor }
        }
    }

    /// A tensor of the same shape with `transform` applied to every scalar.
    public func map(_ transform: (Float) -> Float) -> Tensor {
        Tensor(uncheckedShape: shape, scalars: scalars.map(transform))
    }

    /// The sum of all scalars, accumulated in Double.
    public var sum: Double {
        scalars.withUnsafeBufferPointer { a in
            var s = 0.0
            for v in a { s += Double(v) }
            return s
        }
    }

    /// The largest absolute difference to `other` (infinity when shapes differ).
    public func maxAbsDifference(_ other: Tensor) -> Float {
        guard shape == other.shape else { return .infinity }
        var m: Float = 0
        for i in 0..<count {
            let d = abs(scalars[i] - other.scalars[i])
            if d > m || d.isNaN { m = d.isNaN ? .infinity : d }
        }
        return m
    }

    /// True when every scalar is finite.
    public var isFinite: Bool { scalars.allSatisfy(\.isFinite) }
}
