import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a `/bin/sh -c` script in its own process group with a time limit, its standard input
/// from `/dev/null` and its output into files (no pipe to drain, so a chatty command cannot
/// block). On expiry the whole group (the shell and everything it started) gets SIGKILL.
enum ShellProcess {
    enum Termination: Equatable {
        case exited(Int32)
        case signalled(Int32)
        case timedOut
        case launchFailed(String)
    }

    /// Runs `/bin/sh -c script arguments...` and waits for it at most `timeout` seconds.
    static func run(
        _ script: String, arguments: [String], environment: [String: String], stdout: String, stderr: String,
        timeout: Double
    ) -> Termination {
        #if canImport(Darwin)
            var actions: posix_spawn_file_actions_t? = nil
            var attributes: posix_spawnattr_t? = nil
        #else
            var actions = posix_spawn_file_actions_t()
            var attributes = posix_spawnattr_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new process group (so that a time-out can kill all of it), default SIGPIPE handling
        // and no blocked signals, whatever the calling thread has.
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t(), none = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &none)

        let argv = ["/bin/sh", "-c", script] + arguments
        let env = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var pid = pid_t()
        let spawned = withCStrings(argv) { argvPointers in
            withCStrings(env) { envPointers in
                posix_spawn(&pid, "/bin/sh", &actions, &attributes, argvPointers, envPointers)
            }
        }
        guard spawned == 0 else { return .launchFailed(String(cString: strerror(spawned))) }

        let deadline = ContinuousClock.now + .seconds(timeout)
        var status: Int32 = 0
        var pause: UInt32 = 1_000
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r == -1, errno != EINTR { return .launchFailed("waitpid: \(String(cString: strerror(errno)))") }
            if ContinuousClock.now >= deadline {
                kill(-pid, SIGKILL)
                while waitpid(pid, &status, 0) == -1, errno == EINTR {}
                return .timedOut
            }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    /// The last lines (at most 20, and 2,000 characters) of a text file, trimmed.
    /// Only the last 8,000 bytes are read. An empty file is not read at all: `Data(contentsOf:)` of
    /// the empty log a killed command leaves leaks its 4 KiB read buffer (LeakSanitizer, make asan).
    static func tail(of url: URL) -> String {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return "" }
        defer { try? handle.close() }
        guard let end = try? handle.seekToEnd(), end > 0, (try? handle.seek(toOffset: end - min(end, 8_000))) != nil,
            let data = try? handle.readToEnd()
        else { return "" }
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(21)
        var tail = lines.joined(separator: "\n")
        while tail.last?.isWhitespace == true { tail.removeLast() }
        while tail.first == "\n" { tail.removeFirst() }
        return String(tail.suffix(2_000))
    }

    /// Calls `body` with a NULL-terminated C array of `strings`.
    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for p in pointers { free(p) } }
        return body(pointers)
    }
}
