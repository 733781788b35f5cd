import Foundation
import SurgeonCore
import SurgeonFormats

/// Where a recipe starts: its data and its first model, resolved once for `surgeon run`,
/// `surgeon demo` and library users alike.
public struct PipelineStart: Sendable {
    /// The model the first stage receives.
    public var graph: Graph
    /// Stored with every model the run writes: the input normalisation the data were read
    /// with, and a source file's metadata (a Keras model's original layer arguments).
    public var metadata: [String: ConfigValue]
    public var train: LabeledData
    public var validation: LabeledData
}

extension PipelineRunner {
    /// Reads the recipe's data (the bundled MNIST subset when it names none) and builds or loads
    /// its model; relative paths are resolved against `base` (the recipe's folder).
    ///
    /// A model file that stores an input normalisation (trained with `--mean/--std`) has its
    /// data read with that normalisation, and keeps it in every model the run writes; an
    /// architecture starts from [0, 1] scaling.
    public static func start(_ recipe: Recipe, relativeTo base: URL, registries: Registries) throws -> PipelineStart {
        func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : base.appendingPathComponent(path).path }
        let graph: Graph
        var metadata: [String: ConfigValue] = [:]
        var normalization = InputNormalization.unitRange
        switch recipe.model {
        case let .architecture(name, shape, classes, width):
            graph = try registries.architectures.architecture(named: name)
                .build(ArchitectureOptions(inputShape: shape, classes: classes, width: width, seed: recipe.seed))
        case let .file(path):
            let file = resolve(path)
            let contents = try registries.loadModel(file)
            graph = contents.graph
            metadata = contents.metadata
            normalization = try DataFiles.storedNormalization(contents, source: file) ?? .unitRange
        }
        // Training history and progress belong to the file's own run, not to this one.
        metadata["training_history"] = nil
        metadata["training_progress"] = nil
        metadata[DataFiles.normalizationKey] = try ConfigValue(encoding: normalization)
        let images: String, labels: String
        // The recipe's own data are in the model's layout (NCHW for a torch export); the bundled data are NHWC.
        var layout = DataLayout.channelsLast
        if let i = recipe.images, let l = recipe.labels {
            images = resolve(i)
            labels = resolve(l)
            layout = DataLayout(metadata: metadata)
        } else {
            let bundled = try BundledData.mnistFolder()
            images = bundled.appendingPathComponent("images.npy").path
            labels = bundled.appendingPathComponent("labels.npy").path
        }
        let all = try DataFiles.labeled(
            data: images, labels: labels, normalization: normalization, layout: layout)
        for (name, range) in [("train", recipe.trainRange), ("validation", recipe.validationRange)]
        where range.upperBound > all.count {
            throw PipelineError(
                "the recipe's \(name) range \(range.lowerBound)..<\(range.upperBound) exceeds the \(all.count) samples "
                    + "of \(images)"
            )
        }
        return PipelineStart(
            graph: graph, metadata: metadata, train: all.slice(recipe.trainRange),
            validation: all.slice(recipe.validationRange))
    }

    /// Runs (or resumes) every stage from a resolved start; its metadata goes with every model.
    public mutating func run(_ start: PipelineStart) throws -> [StageResult] {
        metadata = start.metadata
        return try run(initial: start.graph, train: start.train, validation: start.validation)
    }
}
