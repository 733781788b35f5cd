import ArgumentParser
import Foundation
import SurgeonCore
import SurgeonFormats
import SurgeonPipeline

// MARK: - The group

/// The model a command runs, its data files and the normalisation the data are read with: the
/// one options group of every command that runs a model on data (`eval`, `predict`, `train`,
/// `sensitivity`, `plan`, `prune`). `Files` says which data files the command takes.
struct ModelDataOptions<Files: DataFileOptions>: ParsableArguments {
    @OptionGroup var model: ModelArgument
    @OptionGroup var files: Files
    @OptionGroup var normalization: NormalizationOptions

    /// What `load()` read.
    struct Loaded {
        var contents: ModelContents
        /// `--mean/--std` over the normalisation stored with the model, else [0, 1] scaling.
        var normalization: InputNormalization
        /// How the model's own file lays out images (NCHW for a torch export).
        var layout: DataLayout
        var data: Files.Value
    }

    /// Reads the model, then its data with the normalisation it expects.
    func load() throws -> Loaded {
        let contents = try model.load()
        let norm = try normalization.parsed(stored: DataFiles.storedNormalization(contents, source: model.path))
        let layout = DataLayout(metadata: contents.metadata)
        return Loaded(
            contents: contents, normalization: norm, layout: layout,
            data: try files.read(normalization: norm, layout: layout))
    }
}

/// `MODEL`: the model file a command reads, in any registered format. Alone in `inspect` and
/// `groups`; in `ModelDataOptions` for the commands that also read data.
struct ModelArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The model file (\(Inputs.readableFormats)).", valueName: "MODEL"))
    var path: String

    /// Reads the model with the running command's registries.
    func load() throws(ModelFormatError) -> ModelContents { try Inputs.model(path) }
}

/// `--mean` and `--std` for inputs, applied after scaling to [0, 1].
struct NormalizationOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Per-channel mean(s) subtracted after scaling to [0, 1], comma-separated (default: 0, or what the model "
                + "was trained with).",
            valueName: "M[,M...]"))
    var mean: String?

    @Option(
        help: ArgumentHelp(
            "Per-channel standard deviation(s) divided by, comma-separated (default: 1, or what the model was trained "
                + "with).",
            valueName: "S[,S...]"))
    var std: String?

    func validate() throws {
        _ = try parsed(stored: nil)
    }

    /// The options given, else the normalisation stored with the model, else [0, 1] scaling.
    func parsed(stored: InputNormalization?) throws(ValidationError) -> InputNormalization {
        var n = stored ?? .unitRange
        if let mean { n.mean = try Self.numbers(mean, option: "--mean") }
        if let std {
            n.std = try Self.numbers(std, option: "--std")
            guard n.std.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--std values must be positive, got \(std)")
            }
        }
        return n
    }

    private static func numbers(_ text: String, option: String) throws(ValidationError) -> [Float] {
        try CommaList.parse(text, option: option, takes: "comma-separated numbers", isValid: \Float.isFinite)
    }
}

// MARK: - Data files

/// The data files a command takes besides its model, and how they are read.
protocol DataFileOptions: ParsableArguments {
    /// What the files hold once read.
    associatedtype Value
    /// Reads the files in the model's `layout`, normalised with `normalization`.
    func read(normalization: InputNormalization, layout: DataLayout) throws -> Value
}

/// The help of the data options, written once.
enum DataHelp {
    static var images: ArgumentHelp {
        ArgumentHelp(
            "Images as a NumPy .npy file in the model's own layout: NHWC, or NCHW for an NCHW ONNX model such as a "
                + "torch export (uint8 grey levels are scaled to [0, 1]).", valueName: "X.npy")
    }
    static var labels: ArgumentHelp {
        ArgumentHelp(
            "Labels as a NumPy .npy file: integer classes [N] or one-hot rows [N, classes].", valueName: "Y.npy")
    }
}

/// `--data X.npy --labels Y.npy`, both required (`eval`, `train`, `sensitivity`).
struct LabeledFiles: DataFileOptions {
    @Option(help: DataHelp.images) var data: String
    @Option(help: DataHelp.labels) var labels: String

    func read(normalization: InputNormalization, layout: DataLayout) throws -> LabeledData {
        try DataFiles.labeled(data: data, labels: labels, normalization: normalization, layout: layout)
    }
}

/// `--data X.npy` alone (`predict`).
struct ImageFile: DataFileOptions {
    @Option(help: DataHelp.images) var data: String

    func read(normalization: InputNormalization, layout: DataLayout) throws -> Tensor {
        try DataFiles.images(data, normalization: normalization, layout: layout)
    }
}

/// `--data` and `--labels`, both or neither: the data of the data-driven criteria (`plan`, `prune`).
struct OptionalLabeledFiles: DataFileOptions {
    @Option(help: ArgumentHelp("Validation images for data-driven criteria (\(Self.criteria)).", valueName: "X.npy"))
    var data: String?
    @Option(help: ArgumentHelp("Their labels.", valueName: "Y.npy"))
    var labels: String?

    /// The registered criteria that measure activations.
    private static var criteria: String {
        Registries.current.strategies.criteria.filter(\.needsData).map(\.name).joined(separator: ", ")
    }

    func validate() throws {
        if (data == nil) != (labels == nil) { throw ValidationError("give both --data and --labels, or neither") }
    }

    func read(normalization: InputNormalization, layout: DataLayout) throws -> LabeledData? {
        guard let data, let labels else { return nil }
        return try DataFiles.labeled(data: data, labels: labels, normalization: normalization, layout: layout)
    }
}
