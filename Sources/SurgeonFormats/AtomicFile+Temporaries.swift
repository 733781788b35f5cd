import Foundation

extension AtomicFile {
    /// The marker in every temporary file's name: `.NAME.surgeon-tmp.PID.RANDOM`.
    static let temporaryMarker = "surgeon-tmp"

    /// Longest part of the destination's name kept in a temporary name (bytes), so that the
    /// temporary name stays within the 255 bytes file systems allow.
    static let temporaryNameStemLimit = 200

    /// A fresh temporary name for a file called `name`, written by this process:
    /// `.NAME.surgeon-tmp.PID.RANDOM`, so that a left-over one can be recognised, attributed to
    /// its process and swept once that process is gone.
    static func temporaryName(for name: String) -> String {
        var stem = ""
        for character in name {
            if stem.utf8.count + character.utf8.count > temporaryNameStemLimit { break }
            stem.append(character)
        }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        let random = String((0..<10).map { _ in alphabet.randomElement() ?? "x" })
        return ".\(stem).\(temporaryMarker).\(getpid()).\(random)"
    }

    /// The process id a temporary name carries, or nil when `name` is not one of surgeon's.
    static func temporaryOwner(_ name: String) -> pid_t? {
        guard name.hasPrefix(".") else { return nil }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 5, parts[parts.count - 3] == temporaryMarker,
            !parts[parts.count - 1].isEmpty, parts[parts.count - 1].allSatisfy({ $0.isLetter || $0.isNumber }),
            let pid = pid_t(parts[parts.count - 2]), pid > 0
        else { return nil }
        return pid
    }

    /// True when a process with id `pid` exists (also when it belongs to another user).
    static func processIsAlive(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// Removes the temporary files surgeon left in `folder` when it was killed during a write:
    /// regular files named `.NAME.surgeon-tmp.PID.RANDOM` whose process is no longer running.
    /// Returns the files removed. A temporary of a live process (this one included) is kept.
    ///
    /// The process id is checked on this machine: two machines or containers writing into one
    /// shared folder may remove each other's temporaries, which fails that write (never
    /// corrupts a destination).
    @discardableResult
    public static func sweepStaleTemporaries(in folder: URL) -> [URL] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var removed: [URL] = []
        for name in names.sorted() {
            guard let pid = temporaryOwner(name), pid != getpid(), !processIsAlive(pid) else { continue }
            let url = folder.appendingPathComponent(name)
            var info = stat()
            guard lstat(url.path, &info) == 0, FileKind(mode: info.st_mode) == .regularFile else { continue }
            if unlink(url.path) == 0 { removed.append(url) }
        }
        return removed
    }
}
