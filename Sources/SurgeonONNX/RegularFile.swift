import Foundation

/// Reads bytes from a file only when it is a regular file: opened without blocking (a FIFO
/// never hangs the reader) and checked with `fstat` on the open descriptor, so the file checked
/// is the file read.
enum RegularFile {
    /// Why a file could not be read.
    enum Failure: Error, CustomStringConvertible {
        case open(path: String, reason: String)
        case notRegular(path: String, kind: String)
        case read(path: String, reason: String)

        var description: String {
            switch self {
            case let .open(path, reason): return "\(path): \(reason)"
            case let .notRegular(path, kind): return "\(path) is \(kind), not a regular file"
            case let .read(path, reason): return "\(path): \(reason)"
            }
        }
    }

    /// The bytes of `range(fileSize)` of the regular file at `path`.
    static func read<E: Error>(_ path: String, range: (Int) throws(E) -> Range<Int>) throws -> Data {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure.open(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw Failure.open(path: path, reason: String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            let kind: String
            switch info.st_mode & S_IFMT {
            case S_IFDIR: kind = "a directory"
            case S_IFIFO: kind = "a FIFO"
            case S_IFCHR, S_IFBLK: kind = "a device"
            case S_IFSOCK: kind = "a socket"
            default: kind = "a special file"
            }
            throw Failure.notRegular(path: path, kind: kind)
        }
        let wanted = try range(Int(info.st_size))
        var data = Data(count: wanted.count)
        var done = 0
        while done < wanted.count {
            let n = data.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + done, wanted.count - done, off_t(wanted.lowerBound + done))
            }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw Failure.read(
                    path: path,
                    reason: n == 0 ? "the file ended early (it changed while read)" : String(cString: strerror(errno)))
            }
            done += n
        }
        return data
    }

    /// The whole regular file at `path`.
    static func read(_ path: String) throws -> Data {
        try read(path) { (size: Int) -> Range<Int> in 0..<size }
    }
}
