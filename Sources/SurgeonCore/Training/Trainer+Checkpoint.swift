import Foundation

/// Checkpoints: `best` holds the best model; `last` also holds the optimizer state, the history
/// and the epoch reached, so that `fit(resume: true)` continues exactly.
extension Trainer {
    struct RunState {
        var graph: Graph
        var optimizer: Optimizer
        var epoch = 0
        var history: [EpochMetrics] = []
        var bestScore: Double?
        var best: Graph?
    }

    struct SavedProgress: Codable {
        var epoch: Int
        var history: [EpochMetrics]
        var bestScore: Double?
        var optimizerStep: Int
        var configuration: TrainingConfiguration
    }

    static let progressKey = "training_progress"

    func saveBest(_ graph: Graph) throws {
        try checkpoints?.save(ModelContents(graph: graph, metadata: metadata), as: "best")
    }

    func saveCheckpoint(_ state: RunState) throws {
        guard let checkpoints else { return }
        var meta = metadata
        meta[Self.progressKey] = try ConfigValue(
            encoding: SavedProgress(
                epoch: state.epoch, history: state.history, bestScore: state.bestScore,
                optimizerStep: state.optimizer.state.step, configuration: configuration))
        var extras: [(name: String, tensor: Tensor)] = []
        for (i, slots) in state.optimizer.state.first.enumerated() {
            for (k, t) in slots.enumerated() { extras.append(("optimizer/first/\(i)/\(k)", t)) }
        }
        for (i, slots) in state.optimizer.state.second.enumerated() {
            for (k, t) in slots.enumerated() { extras.append(("optimizer/second/\(i)/\(k)", t)) }
        }
        try checkpoints.save(ModelContents(graph: state.graph, metadata: meta, extraTensors: extras), as: "last")
    }

    /// The saved state in the `last` checkpoint, or nil when there is none.
    func loadCheckpoint() throws -> RunState? {
        guard let checkpoints, let contents = try checkpoints.load("last") else { return nil }
        let path = checkpoints.location(of: "last")
        guard let value = contents.metadata[Self.progressKey],
            let progress = try? value.decode(as: SavedProgress.self)
        else {
            throw TrainingError.checkpoint(
                "\(path) holds no training progress; it is not a checkpoint written by `surgeon train`")
        }
        var stored = progress.configuration
        stored.epochs = configuration.epochs
        guard stored == configuration else {
            throw TrainingError.checkpoint(
                "\(path) was written with other training settings; resume with the same settings (only --epochs may "
                    + "change) or start a new run folder"
            )
        }
        var optimizer = Optimizer(settings: configuration.optimizer)
        optimizer.resetState(for: contents.graph)
        optimizer.state.step = progress.optimizerStep
        for (name, tensor) in contents.extraTensors {
            let parts = name.split(separator: "/")
            guard parts.count == 4, let i = Int(parts[2]), let k = Int(parts[3]) else { continue }
            if parts[1] == "first", i < optimizer.state.first.count, k < optimizer.state.first[i].count {
                optimizer.state.first[i][k] = tensor
            } else if parts[1] == "second", i < optimizer.state.second.count, k < optimizer.state.second[i].count {
                optimizer.state.second[i][k] = tensor
            }
        }
        let best = try checkpoints.load("best")?.graph
        return RunState(
            graph: contents.graph, optimizer: optimizer, epoch: progress.epoch, history: progress.history,
            bestScore: progress.bestScore, best: best)
    }
}
