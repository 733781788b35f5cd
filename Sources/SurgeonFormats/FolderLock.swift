import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive lock on a folder a run writes into (a checkpoint folder, a run folder), so that
/// a second run on the same folder is refused at once instead of overwriting the first one's
/// checkpoints.
///
/// It is an `flock(LOCK_EX | LOCK_NB)` on `FOLDER/.surgeon.lock`, which holds the process id of
/// the holder for the refusal's message. The lock belongs to the open file: it is released when
/// the `FolderLock` is released or when the process dies in any way (`kill -9` included), so a
/// run resumed afterwards takes it again. The file itself stays behind; a stale one is harmless.
/// Two locks on the same folder conflict even in one process (each opens the file anew).
public final class FolderLock: Sendable {
    /// The name of the lock file inside the folder.
    public static let fileName = ".surgeon.lock"

    /// The locked folder.
    public let folder: URL
    private let descriptor: Int32

    /// Takes the lock on `folder` (which must exist), or refuses at once when another run holds
    /// it. `purpose` names the folder in errors ("the checkpoint folder (--checkpoint-dir)").
    public init(folder: URL, purpose: String) throws(FolderLockError) {
        let path = folder.appendingPathComponent(Self.fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .cannotLock(folder: folder.path, purpose: purpose, reason: String(cString: strerror(errno)))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let holder = Self.readHolder(fd)
            close(fd)
            if code == EWOULDBLOCK || code == EAGAIN {
                throw .inUse(folder: folder.path, purpose: purpose, holder: holder)
            }
            throw .cannotLock(folder: folder.path, purpose: purpose, reason: String(cString: strerror(code)))
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.folder = folder
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Runs `body` while holding the lock on `folder`; the lock is released when it returns or throws.
    public static func holding<T>(_ folder: URL, purpose: String, _ body: () throws -> T) throws -> T {
        let lock = try FolderLock(folder: folder, purpose: purpose)
        return try withExtendedLifetime(lock) { try body() }
    }

    /// The process id written by the holder, or nil when it wrote none (yet) or something else.
    private static func readHolder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = Int32(text), pid > 0 else { return nil }
        return pid
    }
}

/// A folder could not be locked for a run.
public enum FolderLockError: Error, Equatable, CustomStringConvertible {
    /// Another run (process `holder`, when it could be read) holds the folder.
    case inUse(folder: String, purpose: String, holder: Int32?)
    /// The lock file could not be opened or locked (permissions, a file system without locks).
    case cannotLock(folder: String, purpose: String, reason: String)

    public var description: String {
        switch self {
        case let .inUse(folder, purpose, holder):
            let who = holder.map { "process \($0)" } ?? "another process"
            return "\(folder): \(purpose) is in use by another surgeon run (\(who) holds "
                + "\(folder)/\(FolderLock.fileName)); wait for that run to end, or use another folder"
        case let .cannotLock(folder, purpose, reason):
            return "\(folder): cannot lock \(purpose) (\(FolderLock.fileName)): \(reason)"
        }
    }
}
