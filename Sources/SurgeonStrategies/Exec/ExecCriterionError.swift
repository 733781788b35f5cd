/// An `exec:COMMAND` criterion failed. Every case names the command; a command that failed
/// brings the end of its standard error.
public enum ExecCriterionError: Error, Equatable, CustomStringConvertible {
    /// The folder or its files could not be made (or the activations not computed).
    case inputs(command: String, reason: String)
    /// The shell could not be started.
    case launch(command: String, reason: String)
    case exit(command: String, status: Int32, stderr: String)
    case signal(command: String, signal: Int32, stderr: String)
    case timeout(command: String, seconds: Double, stderr: String)
    /// The command left no `scores.json`.
    case noScores(command: String)
    case unparsable(command: String, reason: String)
    /// `scores.json` has a key that is not a prunable group's id.
    case unknownGroup(command: String, key: String, prunable: [Int])
    case missingGroup(command: String, group: Int, size: Int)
    case wrongCount(command: String, group: Int, expected: Int, actual: Int)
    case notFinite(command: String, group: Int, channel: Int, value: Double)

    public var description: String {
        switch self {
        case let .inputs(command, reason):
            return "\(Self.name(command)): cannot prepare its inputs: \(reason)"
        case let .launch(command, reason):
            return "\(Self.name(command)): cannot start /bin/sh: \(reason)"
        case let .exit(command, status, stderr):
            return "\(Self.name(command)) exited with status \(status)\(Self.tail(stderr))"
        case let .signal(command, signal, stderr):
            return "\(Self.name(command)) was killed by signal \(signal)\(Self.tail(stderr))"
        case let .timeout(command, seconds, stderr):
            return
                "\(Self.name(command)) did not finish within \(StrategyValue.number(seconds)) s (parameter timeout); "
                + "its process group was killed\(Self.tail(stderr))"
        case let .noScores(command):
            return
                "\(Self.name(command)) wrote no scores.json into its folder (its last argument, and "
                + "$SURGEON_CRITERION_DIR)"
        case let .unparsable(command, reason):
            return "\(Self.name(command)): \(reason)"
        case let .unknownGroup(command, key, prunable):
            return "\(Self.name(command)) gave scores for '\(key)', which is not a prunable group; prunable groups: "
                + (prunable.isEmpty ? "none" : prunable.map(String.init).joined(separator: ", "))
        case let .missingGroup(command, group, size):
            return "\(Self.name(command)) gave no scores for group \(group) (\(size) channels)"
        case let .wrongCount(command, group, expected, actual):
            return "\(Self.name(command)) gave \(actual) scores for group \(group), which has \(expected) channels"
        case let .notFinite(command, group, channel, value):
            return
                "\(Self.name(command)) gave \(value) to channel \(channel) of group \(group); scores must be finite "
                + "32-bit numbers"
        }
    }

    static func name(_ command: String) -> String { "exec criterion '\(command)'" }

    static func tail(_ stderr: String) -> String {
        stderr.isEmpty ? " (nothing on standard error)" : "; its standard error ends:\n\(stderr)"
    }
}
