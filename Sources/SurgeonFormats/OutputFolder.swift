import Foundation
import SurgeonCore

/// Folders surgeon writes into (checkpoints, run folders, reports), created with an error that
/// names the folder and says why it cannot be one, instead of Foundation's error dump.
public enum OutputFolder {
    /// Creates `url` and its parents when missing; `purpose` says what the folder is for in the
    /// error ("the checkpoint folder").
    public static func create(_ url: URL, purpose: String) throws(FileWriteError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw FileWriteError(
                    path: url.path, reason: "\(purpose) must be a folder, and a file of that name is in the way")
            }
            return
        }
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw FileWriteError(
                path: url.path, reason: "cannot create \(purpose): \(ReadableError.reading(error))")
        }
    }
}
