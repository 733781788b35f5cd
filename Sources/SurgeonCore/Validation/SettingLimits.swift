/// The accepted ranges of the settings a user gives on the command line or in a recipe. The
/// command line's `validate()` and the recipe parser check against these same ranges (through
/// `OutsideNumber`), so a value near `Int.max` is refused up front instead of trapping in a
/// multiplication or running for ever.
public enum SettingLimits {
    /// `--threads`: far more than any machine surgeon runs on has cores.
    public static let threads = 1...1024
    /// `--epochs` of training or fine-tuning (0 allowed where a stage may skip training).
    public static let epochs = 0...100_000
    /// `--batch-size` of training and inference.
    public static let batchSize = 1...65_536
    /// `--steps` of iterative pruning.
    public static let pruneSteps = 1...1_000
    /// `--round-to`: kept channels rounded to a multiple of this.
    public static let roundTo = 1...4_096
    /// `--min-channels` every group keeps.
    public static let minChannels = 1...(1 << 20)
    /// `--step-epochs` of a step schedule.
    public static let stepEpochs = 1...100_000
    /// The number of classes of a new model.
    public static let classes = 2...1_000_000
    /// One extent of an input shape of a new model.
    public static let inputExtent = 1...65_536
    /// Batches a data-driven criterion reads (`taylor:batches=N`, `--batches`).
    public static let batches = 1...1_000_000
    /// Batches that re-estimate BatchNorm statistics after surgery (`--recalibrate-batches`,
    /// a recipe's `recalibrate`; 0 turns it off).
    public static let recalibrationBatches = 0...100_000
    /// Entries of a list such as `--ratios`.
    public static let listLength = 1...1_000
    /// The learning rate.
    public static let learningRate = 1e-12...1_000.0
    /// The width multiplier of a new model.
    public static let width = 1e-3...64.0
}
