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
        /// What the run started from; absent in checkpoints written before it was recorded.
        var startedFrom: TrainingFingerprint?
    }

    static let progressKey = "training_progress"

    func saveBest(_ graph: Graph) throws {
        try checkpoints?.save(ModelContents(graph: graph, metadata: metadata), as: "best")
    }

    func saveCheckpoint(_ state: RunState, startedFrom: TrainingFingerprint) throws {
        guard let checkpoints else { return }
        var meta = metadata
        meta[Self.progressKey] = try ConfigValue(
            encoding: SavedProgress(
                epoch: state.epoch, history: state.history, bestScore: state.bestScore,
                optimizerStep: state.optimizer.state.step, configuration: configuration,
                startedFrom: startedFrom))
        var extras: [(name: String, tensor: Tensor)] = []
        for (i, slots) in state.optimizer.state.first.enumerated() {
            for (k, t) in slots.enumerated() { extras.append(("optimizer/first/\(i)/\(k)", t)) }
        }
        for (i, slots) in state.optimizer.state.second.enumerated() {
            for (k, t) in slots.enumerated() { extras.append(("optimizer/second/\(i)/\(k)", t)) }
        }
        try checkpoints.save(ModelContents(graph: state.graph, metadata: meta, extraTensors: extras), as: "last")
    }

    /// Refuses figures of a saved progress that would make no sense to resume from, naming the key.
    static func check(_ progress: SavedProgress, at path: String) throws(TrainingError) {
        func refusal(_ key: String, _ error: any Error) -> TrainingError {
            .checkpoint("\(path): the training progress is damaged: \(progressKey).\(key): \(error)")
        }
        do { _ = try OutsideNumber.integer(progress.epoch, in: SettingLimits.epochs) } catch {
            throw refusal("epoch", error)
        }
        do { _ = try OutsideNumber.integer(progress.optimizerStep, in: 0...Int.max) } catch {
            throw refusal("optimizerStep", error)
        }
        do { _ = try OutsideNumber.integer(progress.history.count, in: 0...progress.epoch + 1) } catch {
            throw refusal("history (its length)", error)
        }
        if let best = progress.bestScore {
            do { _ = try OutsideNumber.finite(best, in: 0...1) } catch { throw refusal("bestScore", error) }
        }
    }

    /// The saved state in the `last` checkpoint, or nil when there is none. Refuses a checkpoint
    /// of a run that started from another model, other data or another thread count, and
    /// optimizer slots whose shapes differ from their weights' (they would be written past).
    func loadCheckpoint(startedFrom current: TrainingFingerprint) throws -> RunState? {
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
        if let saved = progress.startedFrom {
            let differences = current.differences(from: saved)
            guard differences.isEmpty else {
                throw TrainingError.checkpoint(
                    "\(path) belongs to another run: \(differences.joined(separator: "; ")); resume with the run's "
                        + "model, data and --threads, or start a new checkpoint folder")
            }
        }
        try Self.check(progress, at: path)
        var optimizer = Optimizer(settings: configuration.optimizer)
        optimizer.resetState(for: contents.graph)
        optimizer.state.step = progress.optimizerStep
        for (name, tensor) in contents.extraTensors {
            let parts = name.split(separator: "/")
            guard parts.count == 4, parts[0] == "optimizer", parts[1] == "first" || parts[1] == "second",
                let i = Int(parts[2]), let k = Int(parts[3])
            else { continue }
            let slots = parts[1] == "first" ? optimizer.state.first : optimizer.state.second
            guard slots.indices.contains(i), slots[i].indices.contains(k) else {
                throw TrainingError.checkpoint("\(path): optimizer slot '\(name)' belongs to no weight of the model")
            }
            guard tensor.shape == slots[i][k].shape else {
                let node = i < contents.graph.nodes.count ? contents.graph.nodes[i].name : "#\(i)"
                throw TrainingError.checkpoint(
                    "\(path): optimizer slot '\(name)' of layer '\(node)' has shape \(tensor.shape), but its weight has "
                        + "shape \(slots[i][k].shape)")
            }
            if parts[1] == "first" {
                optimizer.state.first[i][k] = tensor
            } else {
                optimizer.state.second[i][k] = tensor
            }
        }
        let best = try checkpoints.load("best")?.graph
        return RunState(
            graph: contents.graph, optimizer: optimizer, epoch: progress.epoch, history: progress.history,
            bestScore: progress.bestScore, best: best)
    }
}

extension Trainer {
    /// Reads and checks the `last` checkpoint exactly as `fit(resume: true)` does, without
    /// training, for a run that starts from `graph` on `data`; returns the epoch training would
    /// continue from, or nil when there is no checkpoint. The checkpoint fuzz target calls this.
    public func resumeEpoch(startingFrom graph: Graph, data: LabeledData) throws -> Int? {
        try loadCheckpoint(
            startedFrom: TrainingFingerprint(
                graph: graph, data: data, threads: Compute.threads, distillation: distillation))?.epoch
    }
}
