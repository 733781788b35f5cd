import ArgumentParser
import SurgeonPipeline

/// The `surgeon` command: builds, trains and prunes convolutional networks.
///
/// Exit codes: 0 success; 1 a command failed on its input (unreadable or invalid file, a
/// training failure such as a non-finite loss); 64 a usage error (bad option value); 75 a
/// checkpoint or run folder is in use by another run (`FolderInUse`).
///
/// Every command reads its layer types, strategies, architectures and formats from
/// `Registries.current`, so a program that calls `SurgeonCommand.main(registries:)` with its own
/// registries is a complete `surgeon` with its extensions built in.
public struct SurgeonCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "surgeon",
        abstract: "Channel pruning for convolutional networks: train, prune, fine-tune.",
        discussion:
            "Models are .surgeon files, Keras 3 .keras files or legacy Keras .h5 files (read only); data are NumPy "
            + ".npy files (NHWC images, integer or one-hot labels).",
        subcommands: [
            Demo.self, New.self, Train.self, Eval.self, Predict.self, Inspect.self, Groups.self, Plan.self, Prune.self,
            Rules.self, Strategies.self, Run.self, Sensitivity.self, Convert.self,
        ]
    )

    public init() {}

    /// Parses `arguments` (the process's own when nil) and runs the command with `registries`.
    /// Returns when the command succeeds; on an error, prints it and exits the process with the
    /// command's exit code (as `ParsableCommand.main` does).
    public static func main(registries: Registries, arguments: [String]? = nil) {
        Registries.$current.withValue(registries) {
            main(arguments)
        }
    }
}
