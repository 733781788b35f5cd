import Foundation

/// A FIFO that code under test must never open, and the means to tell whether it did.
///
/// Opening a FIFO for reading blocks until a writer appears, so a reader that follows a path to
/// one hangs forever. While the work under test runs, `wait` repeatedly tries to open the FIFO
/// for writing without blocking: that succeeds only when some process (this one included) has
/// it open for reading, which is the evidence; closing it again lets the blocked reader go on
/// (it reads end of file), so a test that catches the mistake fails instead of hanging.
public final class FIFOWatch: Sendable {
    /// The FIFO's absolute path.
    public let path: String

    /// Makes a FIFO at `path` (and the folders above it); one already there is reused.
    public init(path: String) throws {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if mkfifo(path, 0o600) != 0 {
            var info = stat()
            guard errno == EEXIST, lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFIFO else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
    }

    /// Removes the FIFO.
    public func remove() { unlink(path) }

    /// Whether some process has the FIFO open for reading now; if so, it is released (above).
    public func releaseReader() -> Bool {
        let descriptor = open(path, O_WRONLY | O_NONBLOCK)
        guard descriptor >= 0 else { return false }
        close(descriptor)
        return true
    }

    /// Polls `finished` every 10 ms, releasing any reader of the FIFO each time, until it
    /// returns true or `limit` has passed (only a hang that is not on this FIFO lasts that long).
    /// Returns whether the FIFO was ever open for reading, and whether the work finished.
    public func wait(limit: Duration = .seconds(120), until finished: () -> Bool) -> (opened: Bool, finished: Bool) {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var opened = false
        while clock.now < deadline {
            if finished() { return (opened, true) }
            if releaseReader() { opened = true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return (opened, finished())
    }

    /// Runs `body` on a thread of its own while watching the FIFO (`wait`); `value` is nil
    /// when `body` had not finished by `limit`.
    public func run<T: Sendable>(
        limit: Duration = .seconds(120), _ body: @escaping @Sendable () -> T
    ) -> (value: T?, opened: Bool) {
        let result = ResultBox<T>()
        let thread = Thread { result.set(body()) }
        thread.start()
        let (opened, _) = wait(limit: limit) { result.get() != nil }
        return (result.get(), opened)
    }
}

/// A value handed from one thread to another.
private final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T?

    func set(_ newValue: T) { lock.withLock { value = newValue } }
    func get() -> T? { lock.withLock { value } }
}
