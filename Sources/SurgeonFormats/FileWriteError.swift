import Foundation

/// A file could not be written; the destination was left as it was and no temporary file beside it.
public struct FileWriteError: Error, CustomStringConvertible, Equatable {
    /// The path the caller asked to write.
    public var path: String
    /// What went wrong, for people.
    public var reason: String
    /// Set when the destination was refused before anything was written (it is not a regular
    /// file or a new path); nil for a failure while writing.
    public var refusal: DestinationRefusal?

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public init(path: String, refusal: DestinationRefusal) {
        self.path = path
        self.reason = refusal.description
        self.refusal = refusal
    }

    public var description: String { "cannot write \(path): \(reason)" }
}

/// Why `AtomicFile` refuses a destination. Accepted are a regular file (replaced), a path that
/// does not exist yet in an existing folder (created), and a symbolic link to a regular file
/// (the target is replaced, the link kept).
public enum DestinationRefusal: Equatable, Sendable, CustomStringConvertible {
    /// Something other than a regular file is at the path.
    case notARegularFile(FileKind)
    /// The path is a symbolic link to something other than a regular file.
    case linkToNonRegularFile(target: String, kind: FileKind)
    /// The path is a symbolic link to nothing.
    case danglingLink(target: String)
    /// The path is a symbolic link that cannot be resolved (a loop, an unreadable folder, ...).
    case unresolvableLink(reason: String)
    /// The folder the file would go into does not exist.
    case missingFolder(String)
    /// The path's folder part is not a folder, or cannot be looked at.
    case unusableFolder(String, reason: String)

    static let accepted = "give a regular file or a new path (a symbolic link to a regular file is written through)"

    public var description: String {
        switch self {
        case let .notARegularFile(kind): "it is \(kind.rawValue), not a regular file; \(Self.accepted)"
        case let .linkToNonRegularFile(target, kind):
            "it is a symbolic link to \(target), which is \(kind.rawValue), not a regular file; \(Self.accepted)"
        case let .danglingLink(target):
            "it is a symbolic link to \(target), which does not exist; \(Self.accepted)"
        case let .unresolvableLink(reason):
            "it is a symbolic link that cannot be followed (\(reason)); \(Self.accepted)"
        case let .missingFolder(folder): "the folder \(folder) does not exist"
        case let .unusableFolder(folder, reason): "the folder \(folder) cannot be used: \(reason)"
        }
    }
}

/// What kind of thing is at a path, as `lstat`/`stat` says.
public enum FileKind: String, Sendable {
    case regularFile = "a regular file"
    case directory = "a directory"
    case characterDevice = "a character device"
    case blockDevice = "a block device"
    case fifo = "a FIFO (named pipe)"
    case socket = "a socket"
    case symbolicLink = "a symbolic link"
    case unknown = "an unknown kind of file"

    /// The kind a `stat` mode (`st_mode`) names.
    public init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regularFile
        case S_IFDIR: self = .directory
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        case S_IFIFO: self = .fifo
        case S_IFSOCK: self = .socket
        case S_IFLNK: self = .symbolicLink
        default: self = .unknown
        }
    }
}
