import Foundation
import SurgeonCore

/// Why a NumPy `.npy` / `.npz` file could not be read or written, or an `NpyArray` could not be
/// built. Each case names the file (`source`: a path, or `"<path> (member <name>)"` for an
/// `.npz` member) and `description` is one complete sentence saying what was found and what
/// surgeon accepts.
public enum NpyError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read at all; `reason` is the operating system's explanation.
    case cannotRead(source: String, reason: String)
    /// The file does not start with the `.npy` magic string `\x93NUMPY`; `found` shows its first bytes.
    case notNpy(source: String, found: String)
    /// The `.npy` format version is not 1.0, 2.0 or 3.0.
    case unsupportedVersion(source: String, major: UInt8, minor: UInt8)
    /// The header dictionary could not be understood; `detail` says which part is wrong.
    case malformedHeader(source: String, detail: String)
    /// The header says `fortran_order: True` for an array whose layout differs from C order.
    case fortranOrder(source: String, shape: [Int])
    /// The array holds Python objects (`|O`), which NumPy stores pickled.
    case objectArray(source: String)
    /// The element type is not one of `NpyDType`'s cases; `descr` is the header's dtype text.
    case unsupportedDType(source: String, descr: String)
    /// The file ends before the header or the data it declares does.
    /// `part` is `"header"` or `"data"`; the counts are bytes of that part.
    case truncated(source: String, part: String, expectedBytes: Int, actualBytes: Int)
    /// More bytes follow the array data than the header declares. surgeon treats this as
    /// corruption (NumPy would silently ignore the extra bytes).
    case trailingData(source: String, expectedBytes: Int, actualBytes: Int)
    /// An `.npz` file is not a zip archive, or its zip structure is damaged.
    case notZip(source: String, reason: String)
    /// A member of an `.npz` archive could not be extracted (bad checksum, bad compression…).
    case corruptMember(source: String, member: String, reason: String)
    /// An `.npz` archive holds a member whose name does not end in `.npy`.
    case memberNotNpy(source: String, member: String)
    /// An array name given to `Npz.write` is empty or repeated.
    case invalidMemberName(source: String, name: String, reason: String)
    /// The number of values does not match the shape (building an `NpyArray`).
    case elementCountMismatch(shape: [Int], count: Int)
    /// A value that should be an integer (e.g. a class label) is fractional, infinite, NaN or too large.
    case notIntegral(index: Int, value: Double)
    /// Writing failed; nothing was left at the destination.
    case writeFailed(FileWriteError)

    /// The dtypes surgeon reads, as NumPy spells them, for messages.
    static let acceptedDTypes = NpyDType.allCases.map { "\($0.descr) (\($0.rawValue))" }.joined(separator: ", ")

    public var description: String {
        switch self {
        case let .cannotRead(source, reason):
            return "cannot read \(source): \(reason)"
        case let .notNpy(source, found):
            var hint = "surgeon reads arrays saved with np.save"
            if found.hasPrefix("50 4b") { hint = "it looks like a zip archive; read .npz files with the npz reader" }
            return "\(source) is not a NumPy .npy file: it does not start with the magic bytes \\x93NUMPY "
                + "(found \(found.isEmpty ? "an empty file" : found)); \(hint)"
        case let .unsupportedVersion(source, major, minor):
            return "\(source) uses .npy format version \(major).\(minor); surgeon reads versions 1.0, 2.0 and 3.0"
        case let .malformedHeader(source, detail):
            return "\(source) has a malformed .npy header: \(detail); expected a Python dict such as "
                + "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        case let .fortranOrder(source, shape):
            return "\(source) stores an array of shape \(Self.tuple(shape)) in Fortran order (fortran_order: True); "
                + "surgeon reads C-order arrays only; save with np.save(path, np.ascontiguousarray(arr))"
        case let .objectArray(source):
            return "\(source) holds a NumPy object array (dtype '|O', pickled Python objects); surgeon does not "
                + "unpickle data; save a numeric array instead, one of: \(Self.acceptedDTypes)"
        case let .unsupportedDType(source, descr):
            let name = NpyDType.numpyName(ofDescr: descr).map { " (\($0))" } ?? ""
            return "\(source) has unsupported dtype '\(descr)'\(name); surgeon reads \(Self.acceptedDTypes) "
                + "(big-endian variants are byte-swapped); convert first, e.g. np.save(path, arr.astype(np.float32))"
        case let .truncated(source, part, expected, actual):
            return "\(source) is truncated: its \(part) needs \(expected) bytes but only \(actual) are present"
        case let .trailingData(source, expected, actual):
            return "\(source) has \(actual - expected) unexpected bytes after the array data: the header declares "
                + "\(expected) bytes of data but \(actual) follow it; surgeon reads files holding exactly one array"
        case let .notZip(source, reason):
            return "\(source) is not a readable .npz file: \(reason); expected a zip archive of .npy members "
                + "as written by np.savez or np.savez_compressed"
        case let .corruptMember(source, member, reason):
            return "\(source) is a damaged .npz file: member \(member) cannot be extracted (\(reason))"
        case let .memberNotNpy(source, member):
            return "\(source) holds member '\(member)', which is not a .npy file; surgeon reads .npz archives "
                + "whose members are all .npy arrays (as written by np.savez)"
        case let .invalidMemberName(source, name, reason):
            return
                "cannot write \(source): array name '\(name)' \(reason); .npz array names must be non-empty and unique"
        case let .elementCountMismatch(shape, count):
            return "an array of shape \(Self.tuple(shape)) needs \(Tensor.elementCount(of: shape)) values "
                + "(and non-negative extents), got \(count)"
        case let .notIntegral(index, value):
            return "value \(value) at flat index \(index) is not an integer that fits in Int; integer values "
                + "(e.g. class labels) are expected; save them with an integer dtype such as np.int64"
        case let .writeFailed(error):
            return error.description
        }
    }

    /// A shape as NumPy prints it: `()`, `(3,)`, `(2, 3)`.
    static func tuple(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
}

extension NpyError {
    /// Reads a whole file, turning Foundation's error into `.cannotRead` with the OS reason.
    static func readFile(_ url: URL) throws(NpyError) -> Data {
        do {
            return try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw .cannotRead(source: url.path, reason: ReadableError.reading(error))
        }
    }
}
