import Foundation
import SurgeonCore
import SurgeonFormats

/// A constant value of an ONNX file: an initializer, a `Constant` node's value, or a value the
/// reader folded (shape arithmetic). Floating-point tensors are kept as `Float`, integer and
/// boolean ones as `Int64`; `dims` is the ONNX shape (`[]` for a scalar).
struct ONNXConstant: Sendable, Equatable {
    var dims: [Int]
    var values: Values

    enum Values: Sendable, Equatable {
        case floats([Float])
        case ints([Int64])
    }

    init(dims: [Int], floats: [Float]) {
        self.dims = dims
        values = .floats(floats)
    }

    init(dims: [Int], ints: [Int64]) {
        self.dims = dims
        values = .ints(ints)
    }

    var count: Int {
        switch values {
        case let .floats(f): return f.count
        case let .ints(i): return i.count
        }
    }

    /// The values as floats (integers converted).
    var floats: [Float] {
        switch values {
        case let .floats(f): return f
        case let .ints(i): return i.map { Float($0) }
        }
    }

    /// The values as integers, or nil for a floating-point tensor.
    var ints: [Int64]? {
        if case let .ints(i) = values { return i }
        return nil
    }

    /// The single value of a scalar or one-element tensor, as a float.
    var scalar: Float? { count == 1 ? floats.first : nil }

    /// The values as a surgeon tensor of shape `dims` (a scalar becomes `[1]`).
    func tensor() throws -> Tensor {
        try Tensor(shape: dims.isEmpty ? [1] : dims, scalars: floats)
    }
}

/// Decodes `TensorProto`s: checks the element type, the declared dimensions and that the data
/// present (inline or external) holds exactly what they declare, before allocating anything.
final class ONNXTensorDecoder {
    /// The model file, for messages and for resolving external data.
    let model: URL
    /// Bytes read so far from each external file: their total may not exceed the file's size,
    /// so tensors that name the same bytes over and over cannot multiply the memory taken.
    private var externalBytesRead: [String: Int] = [:]

    init(model: URL) { self.model = model }

    /// Element sizes in bytes of the types surgeon reads, by ONNX data type code.
    private static let elementSizes: [Int32: Int] = [
        1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8,
    ]
    private static let typeNames: [Int32: String] = [
        1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64", 8: "STRING",
        9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64", 15: "COMPLEX128",
        16: "BFLOAT16",
    ]

    static func typeName(_ code: Int32) -> String { typeNames[code] ?? "type \(code)" }

    func decode(_ proto: Onnx_TensorProto, name: String) throws(ONNXError) -> ONNXConstant {
        let path = model.path
        func fail(_ message: String) -> ONNXError { .tensor(path: path, tensor: name, message: message) }
        guard !proto.hasSegment else { throw fail("segmented tensors are not supported") }
        let type = proto.dataType
        guard let size = Self.elementSizes[type] else {
            throw fail(
                "element type \(Self.typeName(type)) is not supported; surgeon reads FLOAT, FLOAT16, DOUBLE and "
                    + "integer or BOOL tensors")
        }
        var dims: [Int] = []
        for d in proto.dims {
            guard d >= 0, d <= Int64(OutsideNumber.largestSize) else {
                throw fail("dimension \(d) in \(proto.dims) is outside 0...2^31")
            }
            dims.append(Int(d))
        }
        let count: Int
        do { count = try OutsideNumber.elementCount(of: dims) } catch { throw fail("\(error)") }
        let bytes = try byteLength(count: count, size: size)
        let raw: Data
        if proto.dataLocation == .external {
            raw = try externalBytes(proto, name: name, expectedLength: bytes)
        } else if proto.hasRawData {
            guard proto.rawData.count == bytes else {
                throw fail(
                    "raw_data holds \(proto.rawData.count) bytes; its shape \(dims) of \(Self.typeName(type)) needs "
                        + "\(bytes)")
            }
            raw = proto.rawData
        } else {
            return try typedFields(proto, dims: dims, count: count, fail: fail)
        }
        return Self.fromLittleEndian(raw, type: type, dims: dims, count: count)
    }

    private func byteLength(count: Int, size: Int) throws(ONNXError) -> Int {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow else { throw ONNXError.model(path: model.path, message: "a tensor's byte size overflows") }
        return bytes
    }

    /// Values in the typed repeated fields (`float_data`, `int64_data`, ...), which must hold
    /// exactly `count` entries.
    private func typedFields(
        _ proto: Onnx_TensorProto, dims: [Int], count: Int, fail: (String) -> ONNXError
    ) throws(ONNXError) -> ONNXConstant {
        let type = proto.dataType
        func check(_ field: String, _ n: Int) throws(ONNXError) {
            guard n == count else {
                throw fail("\(field) holds \(n) values; its shape \(dims) needs \(count)")
            }
        }
        switch type {
        case 1:
            try check("float_data", proto.floatData.count)
            return ONNXConstant(dims: dims, floats: proto.floatData)
        case 11:
            try check("double_data", proto.doubleData.count)
            return ONNXConstant(dims: dims, floats: proto.doubleData.map { Float($0) })
        case 10:
            try check("int32_data", proto.int32Data.count)
            return ONNXConstant(
                dims: dims, floats: proto.int32Data.map { Float(Float16(bitPattern: UInt16(truncatingIfNeeded: $0))) })
        case 7:
            try check("int64_data", proto.int64Data.count)
            return ONNXConstant(dims: dims, ints: proto.int64Data)
        case 12, 13:
            try check("uint64_data", proto.uint64Data.count)
            return ONNXConstant(dims: dims, ints: proto.uint64Data.map { Int64(truncatingIfNeeded: $0) })
        default:
            try check("int32_data", proto.int32Data.count)
            return ONNXConstant(dims: dims, ints: proto.int32Data.map { Int64($0) })
        }
    }

    /// Decodes `count` little-endian values of `type` (whose byte count was checked).
    static func fromLittleEndian(_ data: Data, type: Int32, dims: [Int], count: Int) -> ONNXConstant {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> ONNXConstant in
            func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
                T(littleEndian: raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
            }
            switch type {
            case 1:
                return ONNXConstant(dims: dims, floats: (0..<count).map { Float(bitPattern: load(UInt32.self, $0)) })
            case 11:
                return ONNXConstant(
                    dims: dims, floats: (0..<count).map { Float(Double(bitPattern: load(UInt64.self, $0))) })
            case 10:
                return ONNXConstant(
                    dims: dims, floats: (0..<count).map { Float(Float16(bitPattern: load(UInt16.self, $0))) })
            case 7, 13:
                return ONNXConstant(dims: dims, ints: (0..<count).map { Int64(bitPattern: load(UInt64.self, $0)) })
            case 6:
                return ONNXConstant(
                    dims: dims, ints: (0..<count).map { Int64(Int32(bitPattern: load(UInt32.self, $0))) })
            case 12: return ONNXConstant(dims: dims, ints: (0..<count).map { Int64(load(UInt32.self, $0)) })
            case 5:
                return ONNXConstant(
                    dims: dims, ints: (0..<count).map { Int64(Int16(bitPattern: load(UInt16.self, $0))) })
            case 4: return ONNXConstant(dims: dims, ints: (0..<count).map { Int64(load(UInt16.self, $0)) })
            case 3: return ONNXConstant(dims: dims, ints: (0..<count).map { Int64(Int8(bitPattern: raw[$0])) })
            default: return ONNXConstant(dims: dims, ints: (0..<count).map { Int64(raw[$0]) })
            }
        }
    }

    /// The bytes of an external tensor, from a regular file inside the model's folder only.
    private func externalBytes(
        _ proto: Onnx_TensorProto, name: String, expectedLength: Int
    ) throws(ONNXError) -> Data {
        var entries: [String: String] = [:]
        for entry in proto.externalData { entries[entry.key] = entry.value }
        guard let location = entries["location"] else {
            throw ONNXError.tensor(
                path: model.path, tensor: name, message: "its data is external but has no 'location' entry")
        }
        do {
            let file = try ExternalDataPath.resolve(location, model: model)
            return try RegularFile.read(file.path) { size throws(ExternalDataError) in
                let range = try ExternalDataPath.byteRange(
                    offset: entries["offset"], length: entries["length"], fileSize: size,
                    expectedLength: expectedLength, location: location, model: model.path)
                let total = externalBytesRead[file.path, default: 0] + range.count
                guard total <= size else {
                    throw ExternalDataError.beyondEnd(
                        model: model.path, location: location, offset: total - range.count, length: range.count,
                        fileSize: size)
                }
                externalBytesRead[file.path] = total
                return range
            }
        } catch let error as ExternalDataError {
            throw .externalData(tensor: name, error)
        } catch {
            throw .tensor(path: model.path, tensor: name, message: "cannot read its external data: \(error)")
        }
    }
}
