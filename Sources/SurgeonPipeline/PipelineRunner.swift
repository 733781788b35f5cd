import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonStrategies

/// Runs a recipe's stages in a run folder, each from the same `Trainer`, resuming where a
/// stopped run left off.
///
/// Folder layout: `state.json` (the stages completed, with their figures), one folder per stage
/// (`01-train/model.surgeon`, its `metrics.json`, and for training stages the `last.surgeon` /
/// `best.surgeon` checkpoints written after every epoch), and at the end `metrics.json` with
/// every figure; `.surgeon.lock` marks the folder in use while a run holds it. A run started
/// again skips the completed stages and resumes a training stage at the epoch it reached.
public struct PipelineRunner: Sendable {
    public var recipe: Recipe
    public var folder: URL
    /// The layer types, strategies, architectures and formats the recipe may name.
    public var registries: Registries
    /// Measure inference latency (batch 1 and 64) after every stage.
    public var measureLatency = true
    /// Stored with every model (e.g. the input normalisation).
    public var metadata: [String: ConfigValue] = [:]
    /// Progress: stage starts and training events.
    public var onEvent: (@Sendable (PipelineEvent) -> Void)?

    public init(recipe: Recipe, folder: URL, registries: Registries = Registries()) {
        self.recipe = recipe
        self.folder = folder
        self.registries = registries
    }

    var surgeon: Surgeon { registries.surgeon }
    var strategies: StrategyRegistry { registries.strategies }
    var layers: LayerRegistry { registries.layers }

    /// Runs (or resumes) every stage; returns each stage's figures. The run folder is locked
    /// (`FolderLock`) for the whole run: a second run on the same folder is refused at once.
    public func run(initial: Graph, train: LabeledData, validation: LabeledData) throws -> [StageResult] {
        try OutputFolder.create(folder, purpose: "the run folder")
        return try FolderLock.holding(folder, purpose: "the run folder") {
            try runLocked(initial: initial, train: train, validation: validation)
        }
    }

    private func runLocked(initial: Graph, train: LabeledData, validation: LabeledData) throws -> [StageResult] {
        let stateURL = folder.appendingPathComponent("state.json")
        var state =
            try PipelineState.read(stateURL, recipe: recipe)
            ?? PipelineState(recipeStages: recipe.stages.map(\.name), completed: [])
        var graph = initial
        if let last = state.completed.last {
            graph = try ModelFile.load(
                contentsOf: stageFolder(last.index).appendingPathComponent("model.surgeon"), registry: layers
            ).graph
        }
        for index in state.completed.count..<recipe.stages.count {
            let stage = recipe.stages[index]
            onEvent?(.stageStarted(index: index + 1, of: recipe.stages.count, name: stage.name))
            let dir = stageFolder(index)
            try OutputFolder.create(dir, purpose: "the stage folder")
            let clock = ContinuousClock.now
            var result = StageResult(
                index: index, stage: stage.name, label: StageResult.label(of: stage), accuracy: 0, loss: 0,
                params: 0, macs: 0, seconds: 0, history: [], gammas: [])
            switch stage {
            case let .train(t):
                (graph, result.history) = try fit(
                    graph, t.configuration(seed: recipe.seed &+ UInt64(index)), [], dir, train, validation)
            case let .retrain(t):
                let distillation =
                    try t.distill
                    ? teacher(before: index, initial: initial).map {
                        try Distillation(teacher: $0, temperature: t.temperature, weight: t.distillWeight)
                    } : nil
                (graph, result.history) = try fit(
                    graph, t.configuration(seed: recipe.seed &+ UInt64(index)), [], dir, train, validation,
                    distillation: distillation)
            case let .sparse(t, name, lambda):
                let regularizer = try strategies.regularizer(
                    name, lambda: lambda, graph: graph, surgeon: surgeon, cut: try cut(after: index),
                    data: validation)
                (graph, result.history) = try fit(
                    graph, t.configuration(seed: recipe.seed &+ UInt64(index)), [regularizer], dir, train, validation)
            case let .prune(p):
                let before = graph
                if p.sensitivity {
                    result.sensitivity = try SensitivityReport.measure(
                        graph, data: validation, criterion: try strategies.criterion(p.strategy),
                        policy: try strategies.policy(p.policy), surgeon: surgeon, seed: recipe.seed)
                }
                var compensation = BiasCompensation.Report()
                if let settings = p.search {
                    var search = BudgetSearch(
                        planner: try planner(p), settings: settings, compensation: p.biasCompensation)
                    search.recalibrationBatches = p.recalibrationBatches
                    let events = onEvent
                    search.onProbe = { events?(.searchProbe($0)) }
                    let outcome = try search.run(graph, train: train, validation: validation, seed: recipe.seed)
                    graph = outcome.graph
                    compensation = outcome.compensation
                    result.search = outcome.report
                } else {
                    graph = try prune(graph, p, dir, train, validation, report: &compensation)
                }
                if p.recalibrationBatches > 0, p.search == nil {
                    result.accuracyBeforeRecalibration = try Evaluation.evaluate(graph, on: validation).accuracy
                    let recalibrated = try graph.recalibratingStatistics(
                        images: train.images, batchSize: Graph.Recalibration.batchSize,
                        batches: p.recalibrationBatches, seed: recipe.seed)
                    graph = recalibrated.graph
                    result.recalibration = recalibrated.report
                }
                result.pruning = PruningSummary(before: before, after: graph)
                result.biasCompensation = compensation
            case .eval:
                break
            case let .export(path):
                let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path)
                try registries.formats.save(ModelContents(graph: graph, metadata: metadata), to: url)
            }
            try ModelFile.save(graph, metadata: metadata, to: dir.appendingPathComponent("model.surgeon"))
            let eval = try Evaluation.evaluate(try InferenceForm.prepared(graph), on: validation)
            result.accuracy = eval.accuracy
            result.loss = eval.loss
            result.params = graph.parameterCount
            result.macs = graph.macCount
            result.gammas = graph.absoluteGammas
            result.seconds = (ContinuousClock.now - clock).inSeconds
            if measureLatency {
                result.latencyMsBatch1 = try Latency.milliseconds(graph, images: validation.images, batch: 1)
                result.latencyMsBatch64 = try Latency.milliseconds(graph, images: validation.images, batch: 64)
            }
            try ReadableJSON.write(result, to: dir.appendingPathComponent("metrics.json"))
            state.completed.append(result)
            try ReadableJSON.write(state, to: stateURL)
            onEvent?(.stageFinished(result))
        }
        try ReadableJSON.write(state.completed, to: folder.appendingPathComponent("metrics.json"))
        return state.completed
    }

    func stageFolder(_ index: Int) -> URL {
        folder.appendingPathComponent(String(format: "%02d-%@", index + 1, recipe.stages[index].name))
    }

    /// The model as it was before the last prune stage ahead of stage `index` (the stage before
    /// it, read back from its folder, or the starting model): a retrain stage's teacher. Nil
    /// when no prune stage comes before.
    func teacher(before index: Int, initial: Graph) throws -> Graph? {
        guard
            let prune = recipe.stages[..<index].lastIndex(where: {
                if case .prune = $0 { return true } else { return false }
            })
        else { return nil }
        guard prune > 0 else { return initial }
        let url = stageFolder(prune - 1).appendingPathComponent("model.surgeon")
        return try ModelFile.load(contentsOf: url, registry: layers).graph
    }

    /// Trains with checkpoints in `dir`, resuming from them when present.
    func fit(
        _ graph: Graph, _ config: TrainingConfiguration, _ regularizers: [any Regularizer], _ dir: URL,
        _ train: LabeledData, _ validation: LabeledData, distillation: Distillation? = nil
    ) throws -> (Graph, [EpochMetrics]) {
        let events = onEvent
        let trainer = Trainer(
            configuration: config, regularizers: regularizers,
            checkpoints: CheckpointFolder(directory: dir, registry: layers), metadata: metadata,
            distillation: distillation, onEvent: { events?(.training($0)) })
        let result = try trainer.fit(graph, train: train, validation: validation, resume: true)
        return (result.last, result.history)
    }

    /// The planner of the first prune stage after stage `index`, when it has a fixed budget (the
    /// cut a `growing-lasso` sparse stage prepares).
    func cut(after index: Int) throws -> Planner? {
        for stage in recipe.stages[(index + 1)...] {
            guard case let .prune(p) = stage else { continue }
            return p.search == nil ? try planner(p) : nil
        }
        return nil
    }

    /// The prune stage's criterion, policy and budget.
    func planner(_ p: Recipe.Pruning) throws -> Planner {
        Planner(
            criterion: try strategies.criterion(p.strategy), policy: try strategies.policy(p.policy),
            budget: p.budget, surgeon: surgeon)
    }

    /// Plans and applies the prune stage, in `steps` with fine-tuning between them.
    func prune(
        _ graph: Graph, _ p: Recipe.Pruning, _ dir: URL, _ train: LabeledData, _ validation: LabeledData,
        report: inout BiasCompensation.Report
    ) throws -> Graph {
        let result = try planner(p).prune(
            graph, steps: p.steps, data: validation, probe: train.images.slice(rows: 0..<min(64, train.count)),
            compensation: p.biasCompensation, seed: recipe.seed
        ) { current, step in
            guard step < p.steps, p.finetuneEpochs > 0 else { return current }
            var t = Recipe.Training()
            t.epochs = p.finetuneEpochs
            t.learningRate = 0.01
            let stepDir = dir.appendingPathComponent("step-\(step)")
            try OutputFolder.create(stepDir, purpose: "the step folder")
            return try fit(
                current, t.configuration(seed: recipe.seed &+ 1000 &+ UInt64(step)), [], stepDir, train, validation
            ).0
        }
        report.folds += result.compensation.folds
        report.skippedApproximate += result.compensation.skippedApproximate
        return result.graph
    }
}

/// Progress of a pipeline run.
public enum PipelineEvent: Sendable {
    case stageStarted(index: Int, of: Int, name: String)
    case training(TrainingEvent)
    /// A `max_drop` prune stage tried a MACs target.
    case searchProbe(BudgetSearch.Probe)
    case stageFinished(StageResult)
}

/// A pipeline run could not go on.
public struct PipelineError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
