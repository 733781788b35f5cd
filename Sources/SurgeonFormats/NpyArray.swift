import Foundation
import SurgeonCore

/// The element types surgeon reads from and writes to `.npy` files.
public enum NpyDType: String, Sendable, CaseIterable {
    case uint8, int32, int64, float32, float64

    /// NumPy's little-endian type string, as written in `.npy` headers: `|u1`, `<i4`, `<i8`, `<f4`, `<f8`.
    public var descr: String {
        switch self {
        case .uint8: return "|u1"
        case .int32: return "<i4"
        case .int64: return "<i8"
        case .float32: return "<f4"
        case .float64: return "<f8"
        }
    }

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .uint8: return 1
        case .int32, .float32: return 4
        case .int64, .float64: return 8
        }
    }

    /// The dtype for a type code without its byte-order character (`u1`, `i4`, `i8`, `f4`, `f8`).
    init?(typeCode: Substring) {
        switch typeCode {
        case "u1": self = .uint8
        case "i4": self = .int32
        case "i8": self = .int64
        case "f4": self = .float32
        case "f8": self = .float64
        default: return nil
        }
    }

    /// NumPy's name for a type string, for error messages (`"<c8"` -> `"complex64"`), when known.
    static func numpyName(ofDescr descr: String) -> String? {
        var code = Substring(descr)
        if let first = code.first, "<>|=".contains(first) { code = code.dropFirst() }
        let names: [Substring: String] = [
            "b1": "bool", "i1": "int8", "u1": "uint8", "i2": "int16", "u2": "uint16", "i4": "int32",
            "u4": "uint32", "i8": "int64", "u8": "uint64", "f2": "float16", "f4": "float32", "f8": "float64",
            "f16": "longdouble", "c8": "complex64", "c16": "complex128", "c32": "clongdouble",
        ]
        if let name = names[code] { return name }
        switch code.first {
        case "U": return "unicode string"
        case "S", "a": return "byte string"
        case "V": return "void / raw bytes"
        case "M": return "datetime64"
        case "m": return "timedelta64"
        default: return nil
        }
    }
}

/// An n-dimensional array as a `.npy` file holds it: a shape and the values in row-major (C)
/// order, with one of the `NpyDType` element types.
///
/// `shape` and `storage` always agree (`storage.count == product(shape)`); build arrays with
/// `init(shape:storage:)` (checked) or `init(_:)` from a `Tensor`. Equality compares shape and
/// storage element-wise, so arrays holding NaN are never equal.
public struct NpyArray: Sendable, Equatable {
    /// The values, in row-major order, in their stored element type.
    public enum Storage: Sendable, Equatable {
        case uint8([UInt8])
        case int32([Int32])
        case int64([Int64])
        case float32([Float])
        case float64([Double])

        /// The number of values.
        public var count: Int {
            switch self {
            case let .uint8(v): return v.count
            case let .int32(v): return v.count
            case let .int64(v): return v.count
            case let .float32(v): return v.count
            case let .float64(v): return v.count
            }
        }

        /// The element type.
        public var dtype: NpyDType {
            switch self {
            case .uint8: return .uint8
            case .int32: return .int32
            case .int64: return .int64
            case .float32: return .float32
            case .float64: return .float64
            }
        }
    }

    /// The extent of each axis (`[]` for a scalar); the product is `storage.count`.
    public private(set) var shape: [Int]
    /// The values in row-major order.
    public private(set) var storage: Storage

    /// The element type.
    public var dtype: NpyDType { storage.dtype }
    /// The number of values.
    public var count: Int { storage.count }

    /// An array of the given shape; throws `.elementCountMismatch` when the value count does not
    /// match the shape or an extent is negative.
    public init(shape: [Int], storage: Storage) throws(NpyError) {
        guard shape.allSatisfy({ $0 >= 0 }), NpyArray.checkedCount(shape) == storage.count else {
            throw .elementCountMismatch(shape: shape, count: storage.count)
        }
        self.shape = shape
        self.storage = storage
    }

    /// Internal fast path for callers that already checked `storage.count == product(shape)`.
    init(uncheckedShape shape: [Int], storage: Storage) {
        self.shape = shape
        self.storage = storage
    }

    /// A float32 array holding a copy of `tensor`'s shape and values.
    public init(_ tensor: Tensor) {
        self.init(uncheckedShape: tensor.shape, storage: .float32(tensor.scalars))
    }

    /// The values converted to Float32 (integers and float64 are rounded to the nearest Float).
    public func floatTensor() -> Tensor {
        let scalars: [Float]
        switch storage {
        case let .uint8(v): scalars = v.map { Float($0) }
        case let .int32(v): scalars = v.map { Float($0) }
        case let .int64(v): scalars = v.map { Float($0) }
        case let .float32(v): scalars = v
        case let .float64(v): scalars = v.map { Float($0) }
        }
        return Tensor(uncheckedShape: shape, scalars: scalars)
    }

    /// The values as `Int`s, e.g. class labels, in row-major order. Float values must be whole
    /// numbers that fit in `Int`; otherwise this throws `.notIntegral` naming the first bad value.
    public func integers() throws(NpyError) -> [Int] {
        switch storage {
        case let .uint8(v): return v.map { Int($0) }
        case let .int32(v): return v.map { Int($0) }
        case let .int64(v): return v.map { Int($0) }
        case let .float32(v): return try NpyArray.exactIntegers(v.lazy.map { Double($0) }, count: v.count)
        case let .float64(v): return try NpyArray.exactIntegers(v, count: v.count)
        }
    }

    private static func exactIntegers<S: Sequence<Double>>(_ values: S, count: Int) throws(NpyError) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(count)
        for (index, value) in values.enumerated() {
            guard let exact = Int(exactly: value) else { throw .notIntegral(index: index, value: value) }
            out.append(exact)
        }
        return out
    }

    /// The product of `shape`, or nil when it overflows `Int` or an extent is negative.
    static func checkedCount(_ shape: [Int]) -> Int? {
        var total = 1
        for extent in shape {
            guard extent >= 0 else { return nil }
            let (product, overflow) = total.multipliedReportingOverflow(by: extent)
            guard !overflow else { return nil }
            total = product
        }
        return total
    }
}
