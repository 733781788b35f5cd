import Foundation
import SurgeonCore

/// Where the external data of an ONNX tensor may be read from (ONNX-FORMAT.md 1.8): a tensor
/// with `data_location = EXTERNAL` names a file (`location`, relative to the model file's
/// folder) and optionally a byte range in it (`offset`, `length`, decimal strings).
///
/// Only a regular file inside the model's folder (or its subfolders) is accepted: no absolute
/// path, no `..` component, no symbolic link whose target leaves the folder, no FIFO, device,
/// socket or directory. Everything is checked with `realpath`/`stat`, which never open the file,
/// so a FIFO is refused without blocking. The reader should still open the returned URL with
/// `O_NONBLOCK` and check it again with `fstat` (the file may change in between). A hard link to
/// a file elsewhere cannot be told apart from a file of the folder and is accepted.
public enum ExternalDataPath {
    /// The file that `location` (from a tensor's `external_data`) names for the model file
    /// `model`, with symbolic links resolved.
    public static func resolve(_ location: String, model: URL) throws(ExternalDataError) -> URL {
        let name = model.path
        guard !location.contains("\0") else { throw .nulCharacter(model: name, location: location) }
        guard !location.contains("\\") else { throw .backslash(model: name, location: location) }
        guard !location.hasPrefix("/") else { throw .absolute(model: name, location: location) }
        let components = location.split(separator: "/").filter { $0 != "." }
        guard !components.contains("..") else { throw .parentComponent(model: name, location: location) }
        guard !components.isEmpty else { throw .emptyLocation(model: name, location: location) }
        let folder = model.absoluteURL.deletingLastPathComponent().path
        let realFolder = try realPath(folder, model: name, location: location)
        let resolved = try realPath(folder + "/" + components.joined(separator: "/"), model: name, location: location)
        guard resolved.hasPrefix(realFolder.hasSuffix("/") ? realFolder : realFolder + "/") else {
            throw .leavesFolder(model: name, location: location, resolved: resolved, folder: realFolder)
        }
        var info = stat()
        guard stat(resolved, &info) == 0 else {
            throw .missing(model: name, location: location, reason: String(cString: strerror(errno)))
        }
        if let kind = kindUnlessRegular(info.st_mode) {
            throw .notRegularFile(model: name, location: location, kind: kind)
        }
        return URL(fileURLWithPath: resolved)
    }

    /// The bytes of a tensor within its external file of `fileSize` bytes: `offset` (absent:
    /// 0) and `length` (absent: the rest of the file) as `external_data` gives them, which must
    /// lie inside the file; `length` must equal `expectedLength` (element count × element
    /// size) when that is given. `location` and `model` name the data in errors.
    public static func byteRange(
        offset: String?, length: String?, fileSize: Int, expectedLength: Int?, location: String, model: String
    ) throws(ExternalDataError) -> Range<Int> {
        let size = max(fileSize, 0)
        func bytes(_ key: String, _ text: String?, absent: Int) throws(ExternalDataError) -> Int {
            guard let text else { return absent }
            guard !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
            else {
                throw .badNumber(
                    model: model, location: location, key: key, value: text, reason: "it is not a decimal number")
            }
            do {
                guard let value = Int(text) else {
                    throw OutsideNumberError.outOfRange(value: text, accepted: OutsideNumber.describe(0...size))
                }
                return try OutsideNumber.integer(value, in: 0...size)
            } catch {
                throw .badNumber(model: model, location: location, key: key, value: text, reason: "\(error)")
            }
        }
        let start = try bytes("offset", offset, absent: 0)
        let count = try bytes("length", length, absent: size - start)
        guard count <= size - start else {
            throw .beyondEnd(model: model, location: location, offset: start, length: count, fileSize: size)
        }
        if let expectedLength, count != expectedLength {
            throw .wrongLength(model: model, location: location, length: count, expected: expectedLength)
        }
        return start..<(start + count)
    }

    /// `path` with every symbolic link resolved (`realpath` reads links, never opens files).
    private static func realPath(_ path: String, model: String, location: String) throws(ExternalDataError) -> String {
        guard let resolved = realpath(path, nil) else {
            throw .missing(model: model, location: location, reason: String(cString: strerror(errno)))
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// "a FIFO", "a directory", … for a file mode that is not a regular file's; nil for one.
    private static func kindUnlessRegular(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFIFO: return "a FIFO"
        case S_IFDIR: return "a directory"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        default: return "a special file"
        }
    }
}
