import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes files so that a reader never sees a half-written one, and a failed or killed write
/// never damages what was there: the bytes go to a temporary file in the destination's folder
/// (`.NAME.surgeon-tmp.PID.RANDOM`), which is flushed to disk (`fsync`), renamed over the
/// destination, and the folder flushed too. Every path surgeon writes goes through here.
///
/// The destination must be a regular file, a new path, or a symbolic link to a regular file
/// (then the target is replaced and the link kept); anything else is refused before a byte is
/// written (`checkDestination`). Each write first sweeps the folder of temporaries left by
/// surgeon processes that are gone (`sweepStaleTemporaries`) and tells `notice` about each.
public enum AtomicFile {
    /// Where a write reports the stale temporaries it removed; by default standard error.
    public typealias Notice = (String) -> Void

    /// The environment variable that makes every write fail with "No space left on device" once
    /// that many bytes are in the temporary file: a test seam for a full disk, read only here.
    public static let failWriteAfterBytesVariable = "SURGEON_FAIL_WRITE_AFTER_BYTES"

    /// Writes `data` to `url` atomically. On failure the destination is as it was and no
    /// temporary file is left.
    public static func write(_ data: Data, to url: URL, notice: Notice = standardError) throws(FileWriteError) {
        try write(data, to: url, failAfterBytes: injectedFailure(), notice: notice)
    }

    /// Runs `produce` with a temporary path beside `url` (an empty file already exists there),
    /// then flushes it and renames it to `url`. When `produce` throws, the temporary file is
    /// removed and the destination is untouched.
    public static func write(
        to url: URL, notice: Notice = standardError, _ produce: (URL) throws -> Void
    ) throws(FileWriteError) {
        try replace(url, notice: notice) { tmp, _ throws(FileWriteError) in
            do { try produce(tmp) } catch let error as FileWriteError { throw error } catch {
                throw FileWriteError(path: url.path, reason: "\(error)")
            }
            // `produce` may have written a new file at the path rather than into the open one.
            let descriptor = open(tmp.path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw failure(url.path, "opening \(tmp.path) to flush it") }
            defer { close(descriptor) }
            if fsync(descriptor) != 0 { throw failure(url.path, "flushing \(tmp.path) to disk") }
        }
    }

    /// Writes `data`, failing like a full disk after `failAfterBytes` bytes when set.
    static func write(
        _ data: Data, to url: URL, failAfterBytes: Int?, notice: Notice
    ) throws(FileWriteError) {
        try replace(url, notice: notice) { _, descriptor throws(FileWriteError) in
            if let reason = writeAll(data, to: descriptor, failAfterBytes: failAfterBytes) {
                throw FileWriteError(path: url.path, reason: reason)
            }
        }
    }

    /// Prints a line on standard error.
    public static func standardError(_ text: String) {
        let line = Array((text + "\n").utf8)
        _ = line.withUnsafeBytes { systemWrite(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// The byte count `SURGEON_FAIL_WRITE_AFTER_BYTES` names, if it is set to one.
    static func injectedFailure() -> Int? {
        ProcessInfo.processInfo.environment[failWriteAfterBytesVariable].flatMap { Int($0) }.flatMap {
            $0 >= 0 ? $0 : nil
        }
    }

    /// The whole protocol: check the destination, sweep stale temporaries, create the temporary
    /// exclusively, let `fill` write it (through the open descriptor or the path), fsync it,
    /// rename it over the destination, fsync the folder. The temporary is removed on any failure.
    private static func replace(
        _ url: URL, notice: Notice, fill: (URL, Int32) throws(FileWriteError) -> Void
    ) throws(FileWriteError) {
        let path = url.path
        let target = try checkDestination(url)
        let folder = target.deletingLastPathComponent()
        for stale in sweepStaleTemporaries(in: folder) {
            notice("surgeon: removed \(stale.path), a temporary file left by a surgeon process that no longer runs")
        }
        let tmp = folder.appendingPathComponent(temporaryName(for: target.lastPathComponent))
        let descriptor = open(tmp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { throw failure(path, "cannot create a temporary file in \(folder.path)") }
        var isOpen = true
        func closeTemporary() throws(FileWriteError) {
            isOpen = false
            if close(descriptor) != 0 { throw failure(path, "closing \(tmp.path)") }
        }
        do throws(FileWriteError) {
            keepMode(of: target, on: descriptor)
            try fill(tmp, descriptor)
            if fsync(descriptor) != 0 { throw failure(path, "flushing \(tmp.path) to disk") }
            try closeTemporary()
            if rename(tmp.path, target.path) != 0 { throw failure(path, "renaming \(tmp.path) into place") }
        } catch {
            if isOpen { close(descriptor) }
            unlink(tmp.path)
            throw error
        }
        try flushFolder(folder, for: path)
    }

    /// Gives the temporary the read/write/execute bits of the file it replaces (best effort; not
    /// set-user-id and the like).
    private static func keepMode(of target: URL, on descriptor: Int32) {
        var info = stat()
        if stat(target.path, &info) == 0 { fchmod(descriptor, info.st_mode & 0o777) }
    }

    /// Flushes the folder's entry list so the rename survives a power loss. A file system that
    /// cannot fsync a folder (EINVAL) is accepted.
    private static func flushFolder(_ folder: URL, for path: String) throws(FileWriteError) {
        let descriptor = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(path, "opening \(folder.path) to flush it (the file is written)") }
        defer { close(descriptor) }
        if fsync(descriptor) != 0, errno != EINVAL {
            throw failure(path, "flushing \(folder.path) to disk (the file is written but may not survive a crash)")
        }
    }

    /// Writes every byte, retrying short writes and interrupts; returns the reason on failure.
    static func writeAll(_ data: Data, to descriptor: Int32, failAfterBytes: Int?) -> String? {
        data.withUnsafeBytes { raw -> String? in
            guard let base = raw.baseAddress else { return nil }
            var offset = 0
            while offset < raw.count {
                var chunk = min(raw.count - offset, 1 << 30)
                if let limit = failAfterBytes {
                    if offset >= limit {
                        return
                            "\(String(cString: strerror(ENOSPC))) (injected by \(failWriteAfterBytesVariable)=\(limit))"
                    }
                    chunk = min(chunk, limit - offset)
                }
                let written = systemWrite(descriptor, base + offset, chunk)
                if written < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                offset += written
            }
            return nil
        }
    }

    /// A write failure with the system's reason for `errno`.
    private static func failure(_ path: String, _ doing: @autoclosure () -> String) -> FileWriteError {
        let code = errno
        return FileWriteError(path: path, reason: "\(doing()): \(String(cString: strerror(code)))")
    }
}

/// POSIX `write(2)` (the name `write` is taken by `AtomicFile`'s own functions).
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
        Glibc.write(descriptor, bytes, count)
    #else
        Darwin.write(descriptor, bytes, count)
    #endif
}
