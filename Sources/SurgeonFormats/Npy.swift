import Foundation
import SurgeonCore

/// Reads and writes NumPy `.npy` files (one array per file).
///
/// Reading accepts format versions 1.0, 2.0 and 3.0 and the dtypes of `NpyDType` (`|u1`, `<i4`,
/// `<i8`, `<f4`, `<f8`). The byte-order character may be `<`, `|`, `=` (native, i.e. little-endian
/// on every platform surgeon runs on) or `>` (big-endian data is byte-swapped on load). Only
/// C-order data is read; `fortran_order: True` is accepted only when the layout is the same as
/// C order (at most one axis longer than 1). The file must hold exactly the bytes the header
/// declares: missing bytes throw `.truncated`, extra bytes throw `.trailingData` (NumPy ignores
/// them; surgeon treats them as a sign of corruption). Object arrays are never unpickled.
///
/// Writing produces what `np.save` produces for the same array, byte for byte: format 1.0
/// (2.0 only when the header exceeds 65535 bytes), keys sorted, the 21-digit growth padding
/// NumPy adds after the dict, and spaces plus a newline so the data starts at a multiple of 64.
public enum Npy {
    /// The first six bytes of every `.npy` file.
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// NumPy aligns the start of the data to this many bytes.
    static let alignment = 64
    /// NumPy leaves room in the header for the growing axis to reach this many digits.
    static let growthAxisMaxDigits = 21

    /// Reads the `.npy` file at `url`. Error messages name `url.path`.
    public static func read(contentsOf url: URL) throws(NpyError) -> NpyArray {
        try decode(NpyError.readFile(url), source: url.path)
    }

    /// Decodes the bytes of a `.npy` file; `source` (usually the file's path) names it in errors.
    public static func decode(_ data: Data, source: String) throws(NpyError) -> NpyArray {
        let result = data.withUnsafeBytes { raw in
            Result { () throws(NpyError) -> NpyArray in try decode(raw, source: source) }
        }
        return try result.get()
    }

    /// The bytes of a `.npy` file holding `array`.
    public static func encode(_ array: NpyArray) -> Data {
        let header = header(descr: array.dtype.descr, shape: array.shape)
        var data = Data(capacity: header.count + array.count * array.dtype.byteWidth)
        data.append(contentsOf: header)
        switch array.storage {
        case let .uint8(v): appendLittleEndian(v, to: &data)
        case let .int32(v): appendLittleEndian(v, to: &data)
        case let .int64(v): appendLittleEndian(v, to: &data)
        case let .float32(v): appendLittleEndian(v, to: &data)
        case let .float64(v): appendLittleEndian(v, to: &data)
        }
        return data
    }

    /// Writes `array` to `url` atomically (temporary file + rename); on failure no file is left.
    public static func write(_ array: NpyArray, to url: URL) throws(NpyError) {
        do {
            try AtomicFile.write(encode(array), to: url)
        } catch {
            throw .writeFailed(error)
        }
    }

    // MARK: - Header writing

    /// Magic, version, header length and the padded header dict, exactly as NumPy writes them.
    static func header(descr: String, shape: [Int]) -> [UInt8] {
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(NpyError.tuple(shape)), }"
        if let first = shape.first {
            dict += String(repeating: " ", count: max(0, growthAxisMaxDigits - String(first).count))
        }
        let body = Array(dict.utf8)  // ASCII, so valid latin1 for versions 1.0 and 2.0
        let unpadded = body.count + 1  // + the final newline
        // Version 1.0 stores the header length in 2 bytes, 2.0 in 4.
        for (major, lengthBytes) in [(UInt8(1), 2), (UInt8(2), 4)] {
            let padding = alignment - (magic.count + 2 + lengthBytes + unpadded) % alignment
            let total = unpadded + padding
            if lengthBytes == 2 && total > Int(UInt16.max) { continue }
            var out = magic + [major, 0]
            out.reserveCapacity(magic.count + 2 + lengthBytes + total)
            for k in 0..<lengthBytes { out.append(UInt8(truncatingIfNeeded: total >> (8 * k))) }
            out += body
            out += [UInt8](repeating: 0x20, count: padding)
            out.append(0x0A)
            return out
        }
        return []  // unreachable: a 4-byte length always fits in memory-sized headers
    }

    private static func appendLittleEndian<T: BitwiseCopyable>(_ values: [T], to data: inout Data) {
        values.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
            #if _endian(big)
                var copy = [UInt8](bytes)
                copy.withUnsafeMutableBytes { reverseEach(MemoryLayout<T>.stride, in: $0) }
                data.append(contentsOf: copy)
            #else
                data.append(base.assumingMemoryBound(to: UInt8.self), count: bytes.count)
            #endif
        }
    }

    // MARK: - Reading

    private static func decode(_ raw: UnsafeRawBufferPointer, source: String) throws(NpyError) -> NpyArray {
        let n = raw.count
        guard n >= magic.count, raw.prefix(magic.count).elementsEqual(magic) else {
            let found = raw.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw .notNpy(source: source, found: found)
        }
        guard n >= 8 else { throw .truncated(source: source, part: "header", expectedBytes: 10, actualBytes: n) }
        let (major, minor) = (raw[6], raw[7])
        let lengthBytes: Int
        switch (major, minor) {
        case (1, 0): lengthBytes = 2
        case (2, 0), (3, 0): lengthBytes = 4
        default: throw .unsupportedVersion(source: source, major: major, minor: minor)
        }
        let prefix = 8 + lengthBytes
        guard n >= prefix else {
            throw .truncated(source: source, part: "header", expectedBytes: prefix, actualBytes: n)
        }
        var headerLength = 0
        for k in 0..<lengthBytes { headerLength |= Int(raw[8 + k]) << (8 * k) }
        let dataStart = prefix + headerLength
        guard n >= dataStart else {
            throw .truncated(source: source, part: "header", expectedBytes: dataStart, actualBytes: n)
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: raw[prefix..<dataStart])
        let scalars: [Unicode.Scalar]
        if major == 3 {
            guard let text = String(validating: headerBytes, as: UTF8.self) else {
                throw .malformedHeader(source: source, detail: "the header is not valid UTF-8")
            }
            scalars = Array(text.unicodeScalars)
        } else {
            scalars = headerBytes.map { Unicode.Scalar($0) }  // latin1
        }
        let header = try parseHeader(scalars, source: source)

        guard let count = NpyArray.checkedCount(header.shape),
            case let (byteCount, overflow) = count.multipliedReportingOverflow(by: header.dtype.byteWidth),
            !overflow
        else {
            throw .malformedHeader(
                source: source, detail: "the shape \(NpyError.tuple(header.shape)) has too many elements")
        }
        let available = n - dataStart
        guard available >= byteCount else {
            throw .truncated(
                source: source,
                part: "data (shape \(NpyError.tuple(header.shape)) of \(header.dtype.rawValue))",
                expectedBytes: byteCount, actualBytes: available)
        }
        guard available == byteCount else {
            throw .trailingData(source: source, expectedBytes: byteCount, actualBytes: available)
        }
        let body = UnsafeRawBufferPointer(rebasing: raw[dataStart..<n])
        #if _endian(big)
            let swap = !header.bigEndian
        #else
            let swap = header.bigEndian
        #endif
        let storage: NpyArray.Storage
        switch header.dtype {
        case .uint8: storage = .uint8(load(UInt8.self, from: body, count: count, swap: false))
        case .int32: storage = .int32(load(Int32.self, from: body, count: count, swap: swap))
        case .int64: storage = .int64(load(Int64.self, from: body, count: count, swap: swap))
        case .float32: storage = .float32(load(Float.self, from: body, count: count, swap: swap))
        case .float64: storage = .float64(load(Double.self, from: body, count: count, swap: swap))
        }
        return NpyArray(uncheckedShape: header.shape, storage: storage)
    }

    /// Copies `count` elements out of `bytes` (which holds at least that many) in one memcpy,
    /// then reverses each element's bytes when the file's byte order differs from the host's.
    private static func load<T: BitwiseCopyable>(
        _: T.Type, from bytes: UnsafeRawBufferPointer, count: Int, swap: Bool
    ) -> [T] {
        let width = MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0, let base = buffer.baseAddress {
                let dst = UnsafeMutableRawBufferPointer(start: base, count: count * width)
                dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<(count * width)]))
                if swap { reverseEach(width, in: dst) }
            }
            initialized = count
        }
    }

    private static func reverseEach(_ width: Int, in bytes: UnsafeMutableRawBufferPointer) {
        guard width > 1 else { return }
        var start = 0
        while start + width <= bytes.count {
            var (a, b) = (start, start + width - 1)
            while a < b {
                bytes.swapAt(a, b)
                a += 1
                b -= 1
            }
            start += width
        }
    }

    /// What the header dict says.
    struct Header {
        var dtype: NpyDType
        var bigEndian: Bool
        var shape: [Int]
    }

    private static func parseHeader(_ scalars: [Unicode.Scalar], source: String) throws(NpyError) -> Header {
        var parser = PyLiteralParser(chars: scalars)
        let entries: [(String, PyValue)]
        do {
            entries = try parser.parseHeaderDict()
        } catch {
            throw .malformedHeader(source: source, detail: error.detail)
        }
        var dict: [String: PyValue] = [:]
        for (key, value) in entries {
            guard ["descr", "fortran_order", "shape"].contains(key) else {
                throw .malformedHeader(
                    source: source,
                    detail: "unexpected key '\(key)' (a .npy header has exactly 'descr', 'fortran_order' and 'shape')")
            }
            dict[key] = value
        }
        for key in ["descr", "fortran_order", "shape"] where dict[key] == nil {
            throw .malformedHeader(source: source, detail: "the key '\(key)' is missing")
        }

        // shape
        guard case let .tuple(items)? = dict["shape"] else {
            throw .malformedHeader(source: source, detail: "'shape' is not a tuple of non-negative integers")
        }
        var shape: [Int] = []
        for item in items {
            guard case let .int(extent) = item, extent >= 0 else {
                throw .malformedHeader(
                    source: source,
                    detail: "'shape' is \(PyValue.tuple(items).repr), not a tuple of non-negative integers")
            }
            shape.append(extent)
        }

        // descr
        let descr: String
        switch dict["descr"] {
        case let .string(text)?: descr = text
        case let value?:
            throw .unsupportedDType(source: source, descr: "structured dtype \(value.repr)")
        case nil: descr = ""  // checked above
        }
        var code = Substring(descr)
        var bigEndian = false
        if let order = code.first, "<>|=".contains(order) {
            bigEndian = order == ">"
            code = code.dropFirst()
        }
        if code.first == "O" { throw .objectArray(source: source) }
        guard let dtype = NpyDType(typeCode: code) else {
            throw .unsupportedDType(source: source, descr: descr)
        }

        // fortran_order
        guard case let .bool(fortran)? = dict["fortran_order"] else {
            throw .malformedHeader(source: source, detail: "'fortran_order' is not True or False")
        }
        if fortran && !shape.contains(0) && shape.filter({ $0 > 1 }).count > 1 {
            throw .fortranOrder(source: source, shape: shape)
        }
        return Header(dtype: dtype, bigEndian: bigEndian, shape: shape)
    }
}

// MARK: - A tiny reader for the Python literals in `.npy` headers

/// A Python literal: the subset `ast.literal_eval` would see in a `.npy` header.
indirect enum PyValue {
    case string(String)
    case bool(Bool)
    case int(Int)
    case none
    case tuple([PyValue])
    case list([PyValue])
    case dict([(String, PyValue)])

    /// Python-like text, for messages.
    var repr: String {
        switch self {
        case let .string(s): return "'\(s)'"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return String(i)
        case .none: return "None"
        case let .tuple(items):
            return items.count == 1 ? "(\(items[0].repr),)" : "(" + items.map(\.repr).joined(separator: ", ") + ")"
        case let .list(items): return "[" + items.map(\.repr).joined(separator: ", ") + "]"
        case let .dict(entries): return "{" + entries.map { "'\($0.0)': \($0.1.repr)" }.joined(separator: ", ") + "}"
        }
    }
}

/// Why the header text is not a Python dict literal.
struct PySyntaxError: Error {
    var detail: String
}

/// A recursive-descent parser for the Python dict literal in a `.npy` header.
struct PyLiteralParser {
    let chars: [Unicode.Scalar]
    var index = 0
    var depth = 0
    static let maxDepth = 32

    init(chars: [Unicode.Scalar]) {
        self.chars = chars
    }

    /// Parses the whole header: one dict, then only whitespace.
    mutating func parseHeaderDict() throws(PySyntaxError) -> [(String, PyValue)] {
        skipSpace()
        guard peek == "{" else {
            throw PySyntaxError(
                detail: index < chars.count
                    ? "it does not start with '{' (found \(describe(index)))" : "the header is empty")
        }
        guard case let .dict(entries) = try parseValue() else {
            throw PySyntaxError(detail: "it is not a dict")  // unreachable: '{' always parses to a dict
        }
        skipSpace()
        guard index == chars.count else {
            throw PySyntaxError(detail: "unexpected \(describe(index)) after the closing '}'")
        }
        return entries
    }

    private var peek: Unicode.Scalar? { index < chars.count ? chars[index] : nil }

    private func describe(_ at: Int) -> String {
        guard at < chars.count else { return "end of header" }
        return "'\(Character(chars[at]))' at character \(at)"
    }

    private mutating func skipSpace() {
        while let c = peek, c == " " || c == "\t" || c == "\n" || c == "\r" { index += 1 }
    }

    private mutating func expect(_ c: Unicode.Scalar, _ what: String) throws(PySyntaxError) {
        skipSpace()
        guard peek == c else { throw PySyntaxError(detail: "expected \(what) but found \(describe(index))") }
        index += 1
    }

    private mutating func parseValue() throws(PySyntaxError) -> PyValue {
        skipSpace()
        guard let c = peek else { throw PySyntaxError(detail: "the header ends where a value was expected") }
        switch c {
        case "'", "\"": return .string(try parseString())
        case "(", "[", "{":
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maxDepth else { throw PySyntaxError(detail: "values are nested too deeply") }
            index += 1
            if c == "{" { return .dict(try parseDictBody()) }
            let items = try parseSequenceBody(close: c == "(" ? ")" : "]")
            return c == "(" ? .tuple(items) : .list(items)
        case "-", "+", "0"..."9": return .int(try parseInt())
        default:
            let start = index
            while let d = peek, d.properties.isAlphabetic || d == "_" { index += 1 }
            let word = String(String.UnicodeScalarView(chars[start..<index]))
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            case "": throw PySyntaxError(detail: "unexpected \(describe(start))")
            default: throw PySyntaxError(detail: "unknown word '\(word)' at character \(start)")
            }
        }
    }

    private mutating func parseString() throws(PySyntaxError) -> String {
        let start = index
        guard let quote = peek else { throw PySyntaxError(detail: "expected a string") }
        index += 1
        var out = String.UnicodeScalarView()
        while let c = peek {
            index += 1
            if c == quote { return String(out) }
            if c == "\\" {
                guard let escaped = peek else { break }
                index += 1
                out.append(escaped)
            } else {
                out.append(c)
            }
        }
        throw PySyntaxError(detail: "the string starting at character \(start) is not closed")
    }

    private mutating func parseInt() throws(PySyntaxError) -> Int {
        let start = index
        if peek == "-" || peek == "+" { index += 1 }
        let digitsStart = index
        while let c = peek, ("0"..."9").contains(c) { index += 1 }
        let text = String(String.UnicodeScalarView(chars[start..<index]))
        guard index > digitsStart else {
            throw PySyntaxError(detail: "'\(text)' at character \(start) is not a number")
        }
        if peek == "L" || peek == "l" { index += 1 }  // Python 2 long suffix, as NumPy accepts
        guard let value = Int(text) else {
            throw PySyntaxError(detail: "the number \(text) at character \(start) is too large")
        }
        return value
    }

    /// Items up to `close`, comma separated, trailing comma allowed.
    private mutating func parseSequenceBody(close: Unicode.Scalar) throws(PySyntaxError) -> [PyValue] {
        var items: [PyValue] = []
        while true {
            skipSpace()
            if peek == close { index += 1; return items }
            items.append(try parseValue())
            skipSpace()
            if peek == "," { index += 1; continue }
            try expect(close, "',' or '\(Character(close))'")
            return items
        }
    }

    /// `key: value` pairs up to `}`, comma separated, trailing comma allowed. Keys must be strings.
    private mutating func parseDictBody() throws(PySyntaxError) -> [(String, PyValue)] {
        var entries: [(String, PyValue)] = []
        while true {
            skipSpace()
            if peek == "}" { index += 1; return entries }
            guard peek == "'" || peek == "\"" else {
                throw PySyntaxError(detail: "expected a quoted key but found \(describe(index))")
            }
            let key = try parseString()
            try expect(":", "':' after the key '\(key)'")
            entries.append((key, try parseValue()))
            skipSpace()
            if peek == "," { index += 1; continue }
            try expect("}", "',' or '}'")
            return entries
        }
    }
}
