import Foundation

extension AtomicFile {
    /// Checks that `url` may be written, without writing anything, and returns the file that a
    /// write would replace: `url` itself for a regular file or a new path, the resolved target
    /// for a symbolic link to a regular file (the link is kept and its target replaced).
    ///
    /// Refused, with `FileWriteError.refusal` set: a directory, device, FIFO or socket at the
    /// path; a symbolic link to one of those, to nothing, or in a loop; a path whose folder does
    /// not exist. Commands call this before long work so that a bad `-o` fails at once.
    @discardableResult
    public static func checkDestination(_ url: URL) throws(FileWriteError) -> URL {
        let path = url.path
        var info = stat()
        guard lstat(path, &info) == 0 else {
            let code = errno
            guard code == ENOENT else {
                throw FileWriteError(path: path, reason: String(cString: strerror(code)))
            }
            try checkFolder(of: url, for: path)
            return url
        }
        switch FileKind(mode: info.st_mode) {
        case .regularFile: return url
        case .symbolicLink: return try linkTarget(of: url)
        case let kind: throw FileWriteError(path: path, refusal: .notARegularFile(kind))
        }
    }

    /// The regular file a symbolic link leads to (through any chain of links).
    private static func linkTarget(of url: URL) throws(FileWriteError) -> URL {
        let path = url.path
        guard let resolved = realpath(path, nil) else {
            let code = errno
            if code == ENOENT {
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
                throw FileWriteError(path: path, refusal: .danglingLink(target: target))
            }
            throw FileWriteError(path: path, refusal: .unresolvableLink(reason: String(cString: strerror(code))))
        }
        let target = String(cString: resolved)
        free(resolved)
        var info = stat()
        guard stat(target, &info) == 0 else {
            throw FileWriteError(path: path, refusal: .unresolvableLink(reason: String(cString: strerror(errno))))
        }
        let kind = FileKind(mode: info.st_mode)
        guard kind == .regularFile else {
            throw FileWriteError(path: path, refusal: .linkToNonRegularFile(target: target, kind: kind))
        }
        return URL(fileURLWithPath: target)
    }

    /// Refuses a new path whose folder does not exist or is not a folder.
    private static func checkFolder(of url: URL, for path: String) throws(FileWriteError) {
        let folder = url.deletingLastPathComponent().path
        var info = stat()
        guard stat(folder, &info) == 0 else {
            let code = errno
            if code == ENOENT { throw FileWriteError(path: path, refusal: .missingFolder(folder)) }
            throw FileWriteError(path: path, refusal: .unusableFolder(folder, reason: String(cString: strerror(code))))
        }
        let kind = FileKind(mode: info.st_mode)
        guard kind == .directory else {
            throw FileWriteError(path: path, refusal: .unusableFolder(folder, reason: "it is \(kind.rawValue)"))
        }
    }
}
