import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonPipeline
import SurgeonStrategies

extension SurgeonCommand {
    /// `surgeon train MODEL --data X --labels Y -o OUT`.
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a model on labelled data and save the result.",
            discussion: """
                Defaults (SGD, Nesterov momentum 0.9, learning rate 0.05, cosine schedule, weight decay 5e-4 on \
                kernels, \
                batch 64) train the built-in architectures on MNIST-sized data without tuning. With --checkpoint-dir, \
                best.surgeon and last.surgeon are written after every epoch; --resume continues from last.surgeon. \
                A checkpoint folder another run is using is refused (exit 75).
                """)

        @OptionGroup var input: ModelDataOptions<LabeledFiles>

        @Option(help: ArgumentHelp("Validation images (.npy).", valueName: "X.npy")) var valData: String?
        @Option(help: ArgumentHelp("Validation labels (.npy).", valueName: "Y.npy")) var valLabels: String?
        @Option(
            help: ArgumentHelp("Hold out this fraction of the training data (its tail) for validation.", valueName: "F")
        )
        var valSplit: Double?

        @Option(help: "Passes over the training data.") var epochs = 5
        @Option(help: "Samples per mini-batch.") var batchSize = 64
        @Option(help: "The optimizer: sgd (with momentum) or adam (AdamW-style decay).") var optimizer: OptimizerKind =
            .sgd
        @Option(help: "The base learning rate (default: 0.05 for sgd, 0.001 for adam).") var lr: Double?
        @Option(help: "SGD momentum.") var momentum: Float = 0.9
        @Flag(inversion: .prefixedNo, help: "Nesterov momentum for SGD.") var nesterov = true
        @Option(help: "Weight decay on kernels (not on biases or BatchNorm).") var weightDecay: Float = 5e-4
        @Option(help: "The learning-rate schedule: constant, step or cosine.") var schedule: ScheduleName = .cosine
        @Option(help: "For --schedule step: epochs between decays.") var stepEpochs = 2
        @Option(help: "For --schedule step: the factor applied at each decay.") var stepFactor = 0.1
        @Option(help: "Epochs of linear learning-rate warm-up.") var warmupEpochs: Double = 0
        @Option(help: "Seed for shuffling and dropout.") var seed: UInt64 = 0
        @OptionGroup var threads: ThreadOptions

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp(Inputs.modelOutputHelp("trained model file"), valueName: "OUT"))
        var output: String

        @Option(help: ArgumentHelp("Folder for best.surgeon and last.surgeon checkpoints.", valueName: "DIR"))
        var checkpointDir: String?

        @Flag(help: "Continue from last.surgeon in --checkpoint-dir.") var resume = false

        @Option(
            help: ArgumentHelp(
                "Sparse training: the strength of the sparsity penalty (e.g. 1e-4).", valueName: "LAMBDA"))
        var l1: Float?

        @Option(
            help: ArgumentHelp(
                "With --l1: \(Self.trainableRegularizers.joined(separator: ", ")) (NAME or "
                    + "NAME:key=value,...).",
                valueName: "NAME"))
        var regularizer = "l1-gamma"

        @Option(
            help: ArgumentHelp(
                "Knowledge distillation: a model (the unpruned original) whose softened outputs join the labels in "
                    + "the loss; it must take the same inputs and give the same classes.",
                valueName: "MODEL"))
        var teacher: String?

        @Option(
            help: ArgumentHelp("With --teacher: the temperature that softens both models' outputs.", valueName: "T"))
        var temperature = Distillation.defaultTemperature

        @Option(
            help: ArgumentHelp(
                "With --teacher: the share of the teacher's soft targets in the loss (the labels get the rest).",
                valueName: "W"))
        var distillWeight = Distillation.defaultWeight

        @OptionGroup var out: OutputOptions

        enum ScheduleName: String, ExpressibleByArgument, CaseIterable { case constant, step, cosine }

        func validate() throws {
            if (valData == nil) != (valLabels == nil) {
                throw ValidationError("give both --val-data and --val-labels, or neither")
            }
            if valSplit != nil, valData != nil {
                throw ValidationError("give --val-split or --val-data/--val-labels, not both")
            }
            if let valSplit, !(valSplit > 0 && valSplit < 1) {
                throw ValidationError("--val-split must be between 0 and 1, got \(valSplit)")
            }
            try OptionBounds.check(epochs, "--epochs", 1...SettingLimits.epochs.upperBound)
            try OptionBounds.check(batchSize, "--batch-size", SettingLimits.batchSize)
            try OptionBounds.check(stepEpochs, "--step-epochs", SettingLimits.stepEpochs)
            try OptionBounds.check(warmupEpochs, "--warmup-epochs", 0...Double(SettingLimits.epochs.upperBound))
            if let lr { try OptionBounds.check(lr, "--lr", SettingLimits.learningRate) }
            try OptionBounds.check(temperature, "--temperature", Distillation.temperatures)
            try OptionBounds.check(distillWeight, "--distill-weight", Distillation.weights)
            if resume, checkpointDir == nil { throw ValidationError("--resume needs --checkpoint-dir") }
            try Inputs.checkModelOutput(output)
            try OutputPath.refuseWithJSON(output, option: "--output", json: out.json)
            try OutputPath.refuseStandardOutput(
                checkpointDir, option: "--checkpoint-dir", folderFor: "best.surgeon and last.surgeon")
            if let l1, !(l1 >= 0 && l1.isFinite) {
                throw ValidationError("--l1 must be a non-negative number, got \(l1)")
            }
            let spec = StrategySpec(regularizer)
            do { try Registries.current.strategies.validate(spec, as: .regularizer) } catch {
                throw ValidationError("\(error)")
            }
            if (try? Registries.current.strategies.regularizerNeedsCut(spec)) == true {
                throw ValidationError(
                    "--regularizer \(regularizer) penalises the channels a planned cut will delete, so it needs that "
                        + "cut: use it in a recipe's sparse stage followed by a prune stage with a fixed budget "
                        + "(surgeon run); here: \(Self.trainableRegularizers.joined(separator: ", "))")
            }
            do { try configuration().validate() } catch { throw ValidationError("\(error)") }
        }

        /// The regularisers `train` can use alone: not those aimed at a planned cut.
        static var trainableRegularizers: [String] {
            let strategies = Registries.current.strategies
            return strategies.names(.regularizer).filter {
                (try? strategies.regularizerNeedsCut(StrategySpec($0))) != true
            }
        }

        func configuration() -> TrainingConfiguration {
            let sched: LearningRateSchedule =
                switch schedule {
                case .constant: .constant
                case .step: .step(every: stepEpochs, factor: stepFactor)
                case .cosine: .cosine
                }
            return TrainingConfiguration(
                epochs: epochs, batchSize: batchSize, learningRate: lr, schedule: sched, warmupEpochs: warmupEpochs,
                optimizer: OptimizerSettings(
                    kind: optimizer, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay),
                seed: seed)
        }

        func run() throws {
            try Inputs.checkModelDestination(output)
            threads.apply()
            let loaded = try input.load()
            let norm = loaded.normalization
            var train = loaded.data
            var validation: LabeledData?
            if let valData, let valLabels {
                validation = try DataFiles.labeled(
                    data: valData, labels: valLabels, normalization: norm, layout: loaded.layout)
            } else if let valSplit {
                (train, validation) = try train.split(validationFraction: valSplit)
            }
            guard let checkpointDir else {
                return try fit(loaded, train: train, validation: validation, checkpoints: nil)
            }
            // The folder stays locked until the model is written: a second run on it is refused.
            let folder = URL(fileURLWithPath: checkpointDir)
            let purpose = "the checkpoint folder (--checkpoint-dir)"
            try OutputFolder.create(folder, purpose: purpose)
            let store = CheckpointFolder(directory: folder, registry: Registries.current.layers)
            // Refuse a device, FIFO or folder named like a checkpoint now, not after the first epoch.
            for name in ["best", "last"] {
                try AtomicFile.checkDestination(URL(fileURLWithPath: store.location(of: name)))
            }
            try FolderInUse.mapping {
                try FolderLock.holding(folder, purpose: purpose) {
                    try fit(loaded, train: train, validation: validation, checkpoints: store)
                }
            }
        }

        /// Trains the loaded model and writes it (and its checkpoints, when `checkpoints` is given).
        func fit(
            _ loaded: ModelDataOptions<LabeledFiles>.Loaded, train: LabeledData, validation: LabeledData?,
            checkpoints: CheckpointFolder?
        ) throws {
            let (contents, norm) = (loaded.contents, loaded.normalization)
            let metadata: [String: ConfigValue] = [DataFiles.normalizationKey: try ConfigValue(encoding: norm)]
            let display = ProgressDisplay()
            var regularizers: [any Regularizer] = []
            if let l1, l1 > 0 {
                regularizers.append(
                    try Registries.current.strategies.regularizer(
                        StrategySpec(regularizer), lambda: l1, graph: contents.graph,
                        surgeon: Registries.current.surgeon))
            }
            let distillation = try teacher.map { path in
                let d = try Distillation(
                    teacher: Inputs.model(path).graph, temperature: temperature, weight: distillWeight)
                do { try d.checkCompatible(with: contents.graph) } catch {
                    throw TrainingError.configuration("--teacher \(path): \(error)")
                }
                return d
            }
            let trainer = Trainer(
                configuration: configuration(), regularizers: regularizers, checkpoints: checkpoints,
                metadata: metadata, distillation: distillation, onEvent: { display.handle($0) })
            let result = try trainer.fit(contents.graph, train: train, validation: validation, resume: resume)
            var meta = contents.metadata.merging(metadata) { _, new in new }
            meta["training_history"] = try ConfigValue(encoding: result.history)
            try Inputs.save(ModelContents(graph: result.last, metadata: meta), to: output)
            if out.json {
                try Output.json(TrainReport(output: output, epochs: result.history, final: result.history.last))
            } else {
                Output.status("wrote \(OutputPath.name(output))")
            }
        }
    }
}

/// The `--json` result of `surgeon train`.
struct TrainReport: Encodable {
    var output: String
    var epochs: [EpochMetrics]
    var final: EpochMetrics?
}

extension OptimizerKind: ExpressibleByArgument {}
