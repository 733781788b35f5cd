/// A dense Float32 array with a shape, stored contiguously in row-major (C) order.
///
/// Activations are NHWC (`[batch, height, width, channels]`, Keras's `channels_last`).
/// Kernels keep Keras's layouts: Conv2D `[kh, kw, in, out]`, DepthwiseConv2D
/// `[kh, kw, in, multiplier]`, Dense `[in, out]`. Copying is copy-on-write, like `Array`.
public struct Tensor: Sendable, Equatable {
    /// The extent of each axis; the product is `scalars.count`.
    public private(set) var shape: [Int]
    /// The values in row-major order.
    public var scalars: [Float]

    /// A tensor of the given shape filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.shape = shape
        self.scalars = [Float](repeating: value, count: Tensor.elementCount(of: shape))
    }

    /// A tensor that takes ownership of `scalars`; throws when the count does not match the shape.
    public init(shape: [Int], scalars: [Float]) throws(TensorError) {
        let expected = Tensor.elementCount(of: shape)
        guard expected == scalars.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.scalarCountMismatch(shape: shape, count: scalars.count)
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// A fast path for callers that already guarantee `scalars.count == product(shape)` (kernels,
    /// readers that validated the shape against the data they hold).
    @usableFromInline
    package init(uncheckedShape shape: [Int], scalars: [Float]) {
        self.shape = shape
        self.scalars = scalars
    }

    /// The number of axes.
    public var rank: Int { shape.count }
    /// The number of scalars.
    public var count: Int { scalars.count }

    /// The product of the extents of `shape` (1 for a scalar shape `[]`).
    public static func elementCount(of shape: [Int]) -> Int {
        shape.reduce(1, *)
    }

    /// The same scalars viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) throws(TensorError) -> Tensor {
        guard Tensor.elementCount(of: newShape) == count else {
            throw TensorError.reshapeMismatch(from: shape, to: newShape)
        }
        return Tensor(uncheckedShape: newShape, scalars: scalars)
    }

    /// Rows `start..<end` of the first axis (e.g. a mini-batch of samples).
    public func slice(rows range: Range<Int>) -> Tensor {
        let rowSize = shape.isEmpty ? 1 : count / max(shape[0], 1)
        var newShape = shape
        newShape[0] = range.count
        return Tensor(
            uncheckedShape: newShape,
            scalars: Array(scalars[(range.lowerBound * rowSize)..<(range.upperBound * rowSize)]))
    }

    /// The rows at `indices` of the first axis, in that order.
    public func gather(rows indices: [Int]) -> Tensor {
        let rowSize = shape.isEmpty ? 1 : count / max(shape[0], 1)
        var out = [Float](repeating: 0, count: indices.count * rowSize)
        scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (k, row) in indices.enumerated() {
                    let from = src.baseAddress! + row * rowSize
                    (dst.baseAddress! + k * rowSize).update(from: from, count: rowSize)
                }
            }
        }
        var newShape = shape
        newShape[0] = indices.count
        return Tensor(uncheckedShape: newShape, scalars: out)
    }

    /// Joins tensors along the first axis; all other extents must agree.
    public static func stack(rows parts: [Tensor]) throws(TensorError) -> Tensor {
        guard let first = parts.first else { return Tensor(shape: [0]) }
        let tail = Array(first.shape.dropFirst())
        var all: [Float] = []
        all.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        var rows = 0
        for part in parts {
            guard Array(part.shape.dropFirst()) == tail else {
                throw TensorError.shapeMismatch(expected: first.shape, actual: part.shape)
            }
            all.append(contentsOf: part.scalars)
            rows += part.shape.first ?? 0
        }
        return Tensor(uncheckedShape: [rows] + tail, scalars: all)
    }
}

/// A misuse of a tensor's shape.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    case scalarCountMismatch(shape: [Int], count: Int)
    case reshapeMismatch(from: [Int], to: [Int])
    case shapeMismatch(expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case let .scalarCountMismatch(shape, count):
            return "a tensor of shape \(shape) needs \(Tensor.elementCount(of: shape)) values, got \(count)"
        case let .reshapeMismatch(from, to):
            return "cannot reshape a tensor of shape \(from) to \(to): element counts differ"
        case let .shapeMismatch(expected, actual):
            return "shape mismatch: expected \(expected), got \(actual)"
        }
    }
}

extension Tensor {
    /// A tensor of `shape` whose every scalar `body` writes (skips zero-filling a fresh buffer).
    @inlinable
    public init(shape: [Int], initializingWith body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let count = Tensor.elementCount(of: shape)
        let scalars = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            body(buffer)
            initialized = count
        }
        self.init(uncheckedShape: shape, scalars: scalars)
    }
}
