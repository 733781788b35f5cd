import Foundation
import SurgeonCore

/// Writes files so that a reader never sees a half-written one: the bytes go to a temporary
/// file in the destination's folder, which is then renamed over the destination.
public enum AtomicFile {
    /// Writes `data` to `url` atomically. On failure no file is left at `url` or beside it.
    public static func write(_ data: Data, to url: URL) throws(FileWriteError) {
        try write(to: url) { tmp in try data.write(to: tmp) }
    }

    /// Runs `produce` with a temporary path beside `url`, then renames it to `url`.
    /// When `produce` throws, the temporary file is removed and the destination is untouched.
    public static func write(to url: URL, _ produce: (URL) throws -> Void) throws(FileWriteError) {
        let folder = url.deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: folder.path) else {
            throw FileWriteError(path: url.path, reason: "the folder \(folder.path) does not exist")
        }
        let tmp = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try produce(tmp)
            if rename(tmp.path, url.path) != 0 {
                let reason = String(cString: strerror(errno))
                throw FileWriteError(path: url.path, reason: reason)
            }
        } catch let error as FileWriteError {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw FileWriteError(path: url.path, reason: "\(error)")
        }
    }
}

/// A file could not be written; nothing was left at its path.
public struct FileWriteError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}
