import ArgumentParser
import Foundation
import SurgeonFormats

/// The paths a command writes its result to: a file, written by `AtomicFile` (which refuses a
/// directory, device, FIFO or socket and writes through a symbolic link), or `-`, standard output.
/// With `-` the command's human-readable summary goes to standard error, so that standard
/// output carries the file's bytes only.
enum OutputPath {
    /// The path that means standard output.
    static let standardOutput = "-"

    /// True for `-`.
    static func isStandardOutput(_ path: String?) -> Bool { path == standardOutput }

    /// The help sentence on symbolic links, for every option naming a file surgeon writes.
    static let linkHelp = "A symbolic link is written through (its target is replaced, the link kept)."

    /// The help sentences of a file option that also takes `-`: `what` goes to standard output.
    static func help(standardOutput what: String, note: String? = nil) -> String {
        "\(linkHelp) '-' writes \(what) to standard output\(note.map { " (\($0))" } ?? "")."
    }

    /// A path for messages: "standard output" for `-`.
    static func name(_ path: String) -> String { isStandardOutput(path) ? "standard output" : path }

    /// Refuses `-` for an option that names a folder.
    static func refuseStandardOutput(_ path: String?, option: String, folderFor what: String) throws(ValidationError) {
        guard isStandardOutput(path) else { return }
        throw ValidationError("\(option) -: \(option) names a folder (for \(what)), not standard output; give a folder")
    }

    /// Refuses `-` together with `--json`, which also prints on standard output.
    static func refuseWithJSON(_ path: String?, option: String, json: Bool) throws(ValidationError) {
        guard json, isStandardOutput(path) else { return }
        throw ValidationError("\(option) - and --json both print on standard output; give \(option) FILE with --json")
    }

    /// Checks, before any work, that `path` can be written: for `-`, that binary bytes would not
    /// go to a terminal; for a file, `AtomicFile.checkDestination` (a new path in an existing
    /// folder, a regular file, or a link to one).
    static func check(_ path: String, binary what: String? = nil) throws {
        if isStandardOutput(path) {
            if let what, isatty(STDOUT_FILENO) != 0 {
                throw CommandError(
                    "refusing to write \(what) (binary) to a terminal; redirect standard output (> FILE) or give a "
                        + "file path instead of -")
            }
            return
        }
        try AtomicFile.checkDestination(URL(fileURLWithPath: path))
    }

    /// Writes a whole file: to standard output for `-`, else atomically to the path.
    static func write(_ data: Data, to path: String) throws {
        guard isStandardOutput(path) else { return try AtomicFile.write(data, to: URL(fileURLWithPath: path)) }
        do { try FileHandle.standardOutput.write(contentsOf: data) } catch {
            throw CommandError("cannot write to standard output: \((error as NSError).localizedDescription)")
        }
    }

    /// Prints a line of a command's human-readable result: on standard output, or on standard
    /// error when standard output carries the written file (`path` is `-`).
    static func say(_ text: String, besides path: String?) {
        if isStandardOutput(path) { Output.status(text) } else { print(text) }
    }
}
