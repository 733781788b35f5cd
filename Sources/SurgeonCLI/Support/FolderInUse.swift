import ArgumentParser
import SurgeonFormats

/// A folder another surgeon run holds (`FolderLock`): the command says so and exits with 75
/// (`EX_TEMPFAIL`, "try again later") rather than 1, so scripts can tell "in use" from a failure.
enum FolderInUse {
    static let exitCode = ExitCode(75)

    /// Runs `body`; a folder found in use is reported on standard error and ends the command
    /// with `exitCode`.
    static func mapping<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as FolderLockError {
            guard case .inUse = error else { throw error }
            Output.status("Error: \(error)")
            throw exitCode
        }
    }
}
