import Foundation
import SurgeonCore

/// Why the external data of an ONNX tensor (`TensorProto.external_data`) cannot be read.
/// Each case names the model file (`model`) and the `location` string as the file gives it;
/// `description` is one sentence saying what is wrong and what surgeon accepts.
public enum ExternalDataError: Error, Equatable, CustomStringConvertible {
    /// `location` is empty (or only "." and "/" components).
    case emptyLocation(model: String, location: String)
    /// `location` holds a NUL character, which no file name can.
    case nulCharacter(model: String, location: String)
    /// `location` holds a backslash: ONNX locations are POSIX paths, and a Windows separator
    /// would name a different file on POSIX than where it was written.
    case backslash(model: String, location: String)
    /// `location` is an absolute path.
    case absolute(model: String, location: String)
    /// `location` has a `..` component.
    case parentComponent(model: String, location: String)
    /// Nothing exists at `location` (or a folder on the way is missing or unreadable).
    case missing(model: String, location: String, reason: String)
    /// `location` resolves, through symbolic links, to `resolved`, outside `folder`.
    case leavesFolder(model: String, location: String, resolved: String, folder: String)
    /// `location` is not a regular file: `kind` is "a FIFO", "a directory", "a socket", ….
    case notRegularFile(model: String, location: String, kind: String)
    /// The `offset` or `length` entry is not a decimal number of bytes the file can hold.
    case badNumber(model: String, location: String, key: String, value: String, reason: String)
    /// `offset + length` lies beyond the end of the file of `fileSize` bytes.
    case beyondEnd(model: String, location: String, offset: Int, length: Int, fileSize: Int)
    /// `length` differs from what the tensor's shape and element type need.
    case wrongLength(model: String, location: String, length: Int, expected: Int)

    public var description: String {
        let accepted =
            "surgeon reads external data only from regular files inside the model's folder, named by a relative "
            + "path without '..'"
        switch self {
        case let .emptyLocation(model, location):
            return "\(model): an external data location is empty ('\(location)'); \(accepted)"
        case let .nulCharacter(model, location):
            return "\(model): the external data location '\(Self.shown(location))' holds a NUL character; \(accepted)"
        case let .backslash(model, location):
            return "\(model): the external data location '\(Self.shown(location))' holds a backslash (ONNX locations "
                + "are POSIX paths, separated by '/'); \(accepted)"
        case let .absolute(model, location):
            return "\(model): the external data location '\(Self.shown(location))' is an absolute path; \(accepted)"
        case let .parentComponent(model, location):
            return "\(model): the external data location '\(Self.shown(location))' has a '..' component; \(accepted)"
        case let .missing(model, location, reason):
            return "\(model): the external data file '\(Self.shown(location))' cannot be found (\(reason))"
        case let .leavesFolder(model, location, resolved, folder):
            return "\(model): the external data location '\(Self.shown(location))' leads through a symbolic link to "
                + "'\(Self.shown(resolved))', outside the model's folder '\(Self.shown(folder))'; \(accepted)"
        case let .notRegularFile(model, location, kind):
            return "\(model): the external data location '\(Self.shown(location))' is \(kind), not a regular file; "
                + accepted
        case let .badNumber(model, location, key, value, reason):
            return "\(model): the external data '\(key)' of '\(Self.shown(location))' is '\(Self.shown(value))': "
                + "\(reason); surgeon accepts a decimal number of bytes within the file"
        case let .beyondEnd(model, location, offset, length, fileSize):
            return "\(model): the external data of '\(Self.shown(location))' at offset \(offset), \(length) bytes, "
                + "ends beyond the end of the file (\(fileSize) bytes)"
        case let .wrongLength(model, location, length, expected):
            return "\(model): the external data of '\(Self.shown(location))' is \(length) bytes long where the "
                + "tensor's shape and element type need \(expected)"
        }
    }

    /// `text` for a message: control characters as "?", at most 200 characters.
    static func shown(_ text: String) -> String {
        let cleaned = String(
            String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
        return cleaned.count > 200 ? cleaned.prefix(200) + "…" : cleaned
    }
}
