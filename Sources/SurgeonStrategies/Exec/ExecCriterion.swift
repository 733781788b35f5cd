import Foundation
import SurgeonCore

/// Writes named arrays into one file: how the `exec` criterion hands weights and activations
/// to its command without SurgeonStrategies knowing a file format (SurgeonPipeline supplies
/// NumPy `.npz`).
public protocol ArrayArchiveWriter: Sendable {
    /// The extension of the files `write` makes (`npz`).
    var fileExtension: String { get }
    /// Writes `arrays`, in order, as one file at `url`.
    func write(_ arrays: [(name: String, tensor: Tensor)], to url: URL) throws
}

/// `exec:COMMAND`: scores from a program in any language.
///
/// For every scoring, surgeon makes a fresh temporary folder and writes into it
/// - `groups.json`: the prunable groups, each with its id, size and members (layer, type,
///   role, channels, the tensor holding them, the group channel of each of its channels, its
///   weights with their channel axes) — see `ExecCriterion.Groups`;
/// - `weights.npz`: every layer's weights, named `LAYER/WEIGHTNAME`;
/// - with `--data`, `activations.npz`: the output of every tensor a member names, on the first
///   batch of the data.
///
/// It then runs `/bin/sh -c 'COMMAND "$1"' surgeon-criterion FOLDER`: the command through the shell, with the
/// folder appended as its last argument and in the environment as `SURGEON_CRITERION_DIR`, in
/// surgeon's working directory, standard input from `/dev/null`. The command must finish
/// within `timeout` seconds (default 60; the whole process group is killed after), exit with
/// status 0 and leave `scores.json` in the folder: a JSON object mapping each prunable group's
/// id to its scores, one finite number per group channel (`{"0": [0.5, 1.2, ...], "3": [...]}`;
/// lower is deleted first). Anything else is an `ExecCriterionError` naming the command. The
/// folder is removed afterwards.
public struct ExecCriterion: ImportanceCriterion {
    /// The shell command.
    public let command: String
    /// Seconds the command may run.
    public let timeout: Double
    /// Writes `weights` and `activations`.
    public let arrays: any ArrayArchiveWriter

    public init(command: String, timeout: Double = 60, arrays: any ArrayArchiveWriter) {
        self.command = command
        self.timeout = timeout
        self.arrays = arrays
    }

    public var name: String { "exec" }
    public var spec: String { "exec:\(command)" }
    public var summary: String { Self.summary }

    static let summary =
        "scores from a command in any language (exec:COMMAND; see the README, \"Criteria in any language\")"

    /// The registry entry: `exec` with `command` (the rest of the spec) and `timeout`.
    public static func entry(arrays: any ArrayArchiveWriter) -> CriterionEntry {
        CriterionEntry(
            name: "exec", summary: summary,
            parameters: [
                StrategyParameter(
                    "timeout", .number(0.001...86_400), default: .number(60),
                    summary: "seconds the command may run before its process group is killed"),
                StrategyParameter(
                    "command", .trailingText, default: nil,
                    summary: "the shell command: everything after exec: (and after timeout=S, if given)"),
            ]
        ) { arguments throws(StrategySpecError) in
            ExecCriterion(
                command: try arguments.text("command"), timeout: try arguments.number("timeout"), arrays: arrays)
        }
    }

    public func scores(_ context: ScoringContext) throws -> [[MemberScores]] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "surgeon-criterion-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw ExecCriterionError.inputs(
                command: command, reason: "cannot make a temporary folder: \(ReadableError.reading(error))")
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeInputs(context, to: folder)
        try run(in: folder)
        let scores = try readScores(
            folder.appendingPathComponent("scores.json"), groups: context.analysis.prunableGroups)
        return context.analysis.groups.map { group in
            scores[group.id].map { [MemberScores(layer: "exec", scores: $0)] } ?? []
        }
    }

    /// Runs the command on `folder`; throws unless it exits with status 0 in time.
    func run(in folder: URL) throws(ExecCriterionError) {
        let stdout = folder.appendingPathComponent("stdout.log"), stderr = folder.appendingPathComponent("stderr.log")
        var environment = ProcessInfo.processInfo.environment
        environment["SURGEON_CRITERION_DIR"] = folder.path
        let termination = ShellProcess.run(
            "\(command) \"$1\"", arguments: ["surgeon-criterion", folder.path], environment: environment,
            stdout: stdout.path, stderr: stderr.path, timeout: timeout)
        func tail() -> String { ShellProcess.tail(of: stderr) }
        switch termination {
        case .exited(0): return
        case let .exited(status): throw .exit(command: command, status: status, stderr: tail())
        case let .signalled(signal): throw .signal(command: command, signal: signal, stderr: tail())
        case .timedOut: throw .timeout(command: command, seconds: timeout, stderr: tail())
        case let .launchFailed(reason): throw .launch(command: command, reason: reason)
        }
    }
}
