import Foundation

/// Checkpoints: `best.surgeon` holds the best model; `last.surgeon` also holds the optimizer
/// state, the history and the epoch reached, so that `fit(resume: true)` continues exactly.
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

    func checkpointURL(_ name: String) -> URL? {
        checkpointDirectory?.appendingPathComponent("\(name).surgeon")
    }

    func saveBest(_ graph: Graph) throws {
        guard let url = checkpointURL("best") else { return }
        try ModelFile.save(graph, metadata: metadata, to: url)
    }

    func saveCheckpoint(_ state: RunState) throws {
        guard let url = checkpointURL("last") else { return }
        var meta = metadata
        meta[Self.progressKey] = try ConfigValue(encoding: SavedProgress(
            epoch: state.epoch, history: state.history, bestScore: state.bestScore,
            optimizerStep: state.optimizer.state.step, configuration: configuration))
        var extras: [(name: String, tensor: Tensor)] = []
        for (i, slots) in state.optimizer.state.first.enumerated() {
            for (k, t) in slots.enumerated() { extras.append(("optimizer/first/\(i)/\(k)", t)) }
        }
        for (i, slots) in state.optimizer.state.second.enumerated() {
            for (k, t) in slots.enumerated() { extras.append(("optimizer/second/\(i)/\(k)", t)) }
        }
        try ModelFile.save(ModelFile.Contents(graph: state.graph, metadata: meta, extraTensors: extras), to: url)
    }

    /// The saved state in `last.surgeon`, or nil when there is none.
    func loadCheckpoint() throws -> RunState? {
        guard let url = checkpointURL("last"), FileManager.default.fileExists(atPath: url.path) else { return nil }
        let contents = try ModelFile.load(contentsOf: url, registry: registry)
        guard let value = contents.metadata[Self.progressKey],
              let progress = try? value.decode(as: SavedProgress.self) else {
            throw TrainingError.checkpoint("\(url.path) holds no training progress; it is not a checkpoint written by `surgeon train`")
        }
        var stored = progress.configuration
        stored.epochs = configuration.epochs
        guard stored == configuration else {
            throw TrainingError.checkpoint("\(url.path) was written with other training settings; resume with the same settings (only --epochs may change) or start a new run folder")
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
        var best: Graph?
        if let bestURL = checkpointURL("best"), FileManager.default.fileExists(atPath: bestURL.path) {
            best = try ModelFile.load(contentsOf: bestURL, registry: registry).graph
        }
        return RunState(graph: contents.graph, optimizer: optimizer, epoch: progress.epoch, history: progress.history,
                        bestScore: progress.bestScore, best: best)
    }
}
