/// Element-wise helpers used by layers, optimizers and tests.
extension Tensor {
    /// Adds `other` element-wise (shapes must have equal counts).
    public mutating func add(_ other: Tensor) {
        precondition(count == other.count, "add: \(shape) vs \(other.shape)")
        scalars.withUnsafeMutableBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                guard let x = a.baseAddress, let y = b.baseAddress else { return }
                Tensor.sum(UnsafePointer(x), y, into: x, count: a.count)
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
                    guard let x = a.baseAddress, let y = b.baseAddress, let z = out.baseAddress else { return }
                    Tensor.sum(x, y, into: z, count: out.count)
                }
            }
        }
    }

    /// `out[i] = x[i] + y[i]`, split over threads like the elementwise kernels (a batch of
    /// activations is memory-bound: ResNet-50's 16 residual sums took 15 ms of a 2-thread
    /// training step on one thread). `out` may be `x`.
    private static func sum(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int
    ) {
        let xp = UncheckedSendable(x), yp = UncheckedSendable(y), op = UncheckedSendable(out)
        Compute.parallelChunks(count, minimumChunk: ElementwiseKernels.parallelGrain) { range in
            for i in range { op.value[i] = xp.value[i] + yp.value[i] }
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
