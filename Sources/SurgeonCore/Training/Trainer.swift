import Foundation

/// The one training engine behind every stage (train, sparse-train, retrain): mini-batch
/// training of a classifier with softmax cross-entropy, a learning-rate schedule with warm-up,
/// validation per epoch, best and last checkpoints, resume, and `Regularizer` hooks.
///
/// Reproducible: shuffling and dropout derive from `configuration.seed`, every kernel splits
/// work the same way for a given thread count, so the same inputs give the same weights.
public struct Trainer: Sendable {
    public var configuration: TrainingConfiguration
    /// Penalties added to the loss (sparse training plugs in here).
    public var regularizers: [any Regularizer]
    /// Where the `last` checkpoint (with optimizer state, for resuming) and the `best` one go;
    /// nil writes no checkpoints.
    public var checkpoints: (any CheckpointStore)?
    /// Stored in every checkpoint (e.g. the input normalisation).
    public var metadata: [String: ConfigValue]
    /// Called after every step and every epoch (progress bars, logs).
    public var onEvent: (@Sendable (TrainingEvent) -> Void)?
    /// A teacher whose softened outputs join the labels in the loss (retraining a pruned model).
    public var distillation: Distillation?
    public init(
        configuration: TrainingConfiguration = TrainingConfiguration(), regularizers: [any Regularizer] = [],
        checkpoints: (any CheckpointStore)? = nil, metadata: [String: ConfigValue] = [:],
        distillation: Distillation? = nil, onEvent: (@Sendable (TrainingEvent) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.distillation = distillation
        self.regularizers = regularizers
        self.checkpoints = checkpoints
        self.metadata = metadata
        self.onEvent = onEvent
    }

    /// What training produced.
    public struct Result: Sendable {
        /// The model after the last epoch.
        public var last: Graph
        /// The model of the epoch with the best validation accuracy (training accuracy without
        /// validation data).
        public var best: Graph
        public var history: [EpochMetrics]
    }

    /// Trains `graph` on `train`, validating on `validation` after every epoch. With
    /// `resume: true` and a `last.surgeon` in the checkpoint directory, training continues
    /// from the epoch after it.
    public func fit(
        _ graph: Graph, train: LabeledData, validation: LabeledData? = nil, resume: Bool = false
    ) throws -> Result {
        let config = configuration
        try config.validate()
        try Evaluation.checkCompatible(graph, train)
        if let validation { try Evaluation.checkCompatible(graph, validation) }
        try distillation?.checkCompatible(with: graph)
        guard train.count >= 2 else {
            throw TrainingError.configuration("training needs at least 2 samples, got \(train.count)")
        }

        var state = RunState(graph: graph, optimizer: Optimizer(settings: config.optimizer))
        let startedFrom = TrainingFingerprint(
            graph: graph, data: train, threads: Compute.threads, distillation: distillation)
        if resume, let saved = try loadCheckpoint(startedFrom: startedFrom) { state = saved }
        let loss = SoftmaxCrossEntropy(fromLogits: !graph.producesProbabilities)
        let batches = Self.batchSizes(samples: train.count, batchSize: config.batchSize)
        let stepsPerEpoch = batches.count
        let totalSteps = stepsPerEpoch * config.epochs
        let warmupSteps = Int((config.warmupEpochs * Double(stepsPerEpoch)).rounded())

        while state.epoch < config.epochs {
            let epoch = state.epoch
            let clock = ContinuousClock.now
            var order = Array(0..<train.count)
            var shuffler = SeededRandom(seed: config.seed &+ UInt64(epoch + 1) &* 0x9E37_79B9_7F4A_7C15)
            order.shuffle(using: &shuffler)
            let regularizers = try self.regularizers.map {
                try $0.forEpoch(epoch, of: config.epochs, graph: state.graph)
            }
            var lossSum = 0.0, penaltySum = 0.0, correct = 0, seen = 0
            var rate = 0.0
            var start = 0
            for (step, size) in batches.enumerated() {
                let batch = train.gather(Array(order[start..<(start + size)]))
                start += size
                let globalStep = epoch * stepsPerEpoch + step
                rate = config.schedule.rate(
                    base: config.learningRate, step: globalStep, totalSteps: totalSteps,
                    warmupSteps: warmupSteps, stepsPerEpoch: stepsPerEpoch)
                let context = ForwardContext(
                    training: true, seed: config.seed ^ (UInt64(globalStep) &* 0xD1B5_4A32_D192_ED03))
                let (result, penalty) = try Self.step(
                    &state.graph, optimizer: &state.optimizer, batch: batch, loss: loss,
                    regularizers: regularizers, distillation: distillation, learningRate: Float(rate), context: context)
                guard result.loss.isFinite, penalty.isFinite else {
                    throw TrainingError.nonFiniteLoss(
                        epoch: epoch + 1, step: step + 1, value: result.loss + penalty,
                        lastCheckpoint: state.epoch > 0 ? checkpoints?.location(of: "last") : nil)
                }
                lossSum += result.loss * Double(size)
                penaltySum += penalty
                correct += result.correct
                seen += size
                onEvent?(
                    .step(
                        epoch: epoch + 1, epochs: config.epochs, step: step + 1, steps: stepsPerEpoch,
                        loss: lossSum / Double(seen), accuracy: Double(correct) / Double(seen)))
            }
            guard state.graph.nodes.allSatisfy({ $0.layer.weights.allSatisfy(\.isFinite) }) else {
                throw TrainingError.nonFiniteLoss(
                    epoch: epoch + 1, step: stepsPerEpoch, value: .nan,
                    lastCheckpoint: state.epoch > 0 ? checkpoints?.location(of: "last") : nil)
            }
            var metrics = EpochMetrics(
                epoch: epoch + 1, loss: lossSum / Double(seen), accuracy: Double(correct) / Double(seen),
                validationLoss: nil, validationAccuracy: nil, learningRate: rate,
                penalty: penaltySum / Double(stepsPerEpoch),
                regularizerReport: regularizers.reduce(into: [:]) { report, r in
                    for (k, v) in r.report(for: state.graph) { report["\(r.name).\(k)"] = v }
                },
                seconds: 0)
            if let validation {
                let v = try Evaluation.evaluate(state.graph, on: validation)
                metrics.validationLoss = v.loss
                metrics.validationAccuracy = v.accuracy
            }
            metrics.seconds = (ContinuousClock.now - clock).inSeconds
            state.history.append(metrics)
            state.epoch += 1
            let score = metrics.validationAccuracy ?? metrics.accuracy
            if state.bestScore == nil || score > state.bestScore! {
                state.bestScore = score
                state.best = state.graph
                try saveBest(state.graph)
            }
            try saveCheckpoint(state, startedFrom: startedFrom)
            onEvent?(.epochEnd(metrics))
        }
        return Result(last: state.graph, best: state.best ?? state.graph, history: state.history)
    }

    /// One training step on `batch`: forward in training mode, loss, backward, regularisers'
    /// penalties and gradients, then the optimizer update and the new BatchNorm statistics.
    /// When the loss or the penalty is not finite, nothing is updated; the caller decides.
    public static func step(
        _ graph: inout Graph, optimizer: inout Optimizer, batch: LabeledData, loss: SoftmaxCrossEntropy,
        regularizers: [any Regularizer] = [], distillation: Distillation? = nil, learningRate: Float,
        context: ForwardContext, profile: LayerProfile? = nil
    ) throws -> (result: SoftmaxCrossEntropy.Result, penalty: Double) {
        let clock = ContinuousClock()
        let tape = try graph.forwardTraining([batch.images], context: context, profile: profile)
        var start = clock.now
        let output = tape.outputs[graph.outputNodeIndices[0]].value
        var result = loss.evaluate(output: output, labels: batch.labels)
        if let distillation {
            let taught = try distillation.teacher.predict([batch.images])[0]
            result = distillation.mixing(
                result, output: output, studentGivesProbabilities: !loss.fromLogits, teacherOutput: taught)
        }
        profile?.add(LayerProfile.loss, forward: clock.now - start)
        var gradients = try graph.backward(tape, outputGradients: [result.gradient], observe: nil, profile: profile)
        start = clock.now
        var penalty = 0.0
        for regularizer in regularizers { penalty += regularizer.apply(to: graph, gradients: &gradients) }
        guard result.loss.isFinite, penalty.isFinite else { return (result, penalty) }
        try optimizer.step(&graph, gradients: gradients, learningRate: learningRate)
        graph.applyStateUpdates(from: tape)
        profile?.add(LayerProfile.update, backward: clock.now - start)
        return (result, penalty)
    }

    /// Mini-batch sizes for one epoch: full batches and a last partial one, except that a
    /// trailing batch of a single sample is folded into the one before (BatchNorm needs two).
    static func batchSizes(samples: Int, batchSize: Int) -> [Int] {
        var sizes = Array(repeating: batchSize, count: samples / batchSize)
        let rest = samples % batchSize
        if rest >= 2 || sizes.isEmpty { sizes.append(rest) } else if rest == 1 { sizes[sizes.count - 1] += 1 }
        return sizes.filter { $0 > 0 }
    }
}

/// Progress of a training run.
public enum TrainingEvent: Sendable {
    case step(epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double, accuracy: Double)
    case epochEnd(EpochMetrics)
}
