/// Everything that decides a training run; with the same configuration, data, starting model
/// and thread count, training gives bit-identical results.
///
/// The defaults were chosen on the bundled MNIST subset (see DESIGN.md): SGD with Nesterov
/// momentum 0.9, rate 0.05, cosine decay, weight decay 5e-4, batch 64.
public struct TrainingConfiguration: Sendable, Codable, Equatable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    public var schedule: LearningRateSchedule
    public var warmupEpochs: Double
    public var optimizer: OptimizerSettings
    public var seed: UInt64

    public init(
        epochs: Int = 5, batchSize: Int = 64, learningRate: Double? = nil,
        schedule: LearningRateSchedule = .cosine, warmupEpochs: Double = 0,
        optimizer: OptimizerSettings = OptimizerSettings(), seed: UInt64 = 0
    ) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate ?? TrainingConfiguration.defaultLearningRate(for: optimizer.kind)
        self.schedule = schedule
        self.warmupEpochs = warmupEpochs
        self.optimizer = optimizer
        self.seed = seed
    }

    /// 0.05 for SGD, 1e-3 for Adam.
    public static func defaultLearningRate(for kind: OptimizerKind) -> Double {
        kind == .sgd ? 0.05 : 1e-3
    }

    /// Checks the values a user can get wrong, against `SettingLimits` (the command line and
    /// recipes check the same ranges before they get here).
    public func validate() throws(TrainingError) {
        var field = ""
        do {
            field = "epochs"
            _ = try OutsideNumber.integer(epochs, in: 1...SettingLimits.epochs.upperBound)
            field = "batch size"
            _ = try OutsideNumber.integer(batchSize, in: SettingLimits.batchSize)
            field = "the learning rate"
            _ = try OutsideNumber.finite(learningRate, in: SettingLimits.learningRate)
            field = "warm-up epochs"
            _ = try OutsideNumber.finite(warmupEpochs, in: 0...Double(epochs))
            field = "momentum"
            _ = try OutsideNumber.finite(Double(optimizer.momentum), in: 0...0.999_999)
            field = "weight decay"
            _ = try OutsideNumber.finite(Double(optimizer.weightDecay), in: 0...1)
            if case let .step(every, factor) = schedule {
                field = "the step schedule's step"
                _ = try OutsideNumber.integer(every, in: SettingLimits.stepEpochs)
                field = "the step schedule's factor"
                _ = try OutsideNumber.finite(factor, in: 1e-12...1)
            }
        } catch { throw .configuration("\(field): \(error)") }
    }
}

/// Loss and accuracy of one epoch.
public struct EpochMetrics: Sendable, Codable, Equatable {
    public var epoch: Int
    public var loss: Double
    public var accuracy: Double
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var learningRate: Double
    /// The regularisers' penalty, averaged over the epoch's steps.
    public var penalty: Double
    /// Figures the regularisers report (e.g. `l1-gamma.below_1e-2`).
    public var regularizerReport: [String: Double]
    public var seconds: Double
}

/// Why training stopped or could not start.
public enum TrainingError: Error, CustomStringConvertible {
    case configuration(String)
    case data(DataError)
    case nonFiniteLoss(epoch: Int, step: Int, value: Double, lastCheckpoint: String?)
    case graph(GraphError)
    case checkpoint(String)
    case model(String)

    public var description: String {
        switch self {
        case let .configuration(message):
            return message
        case let .data(error):
            return error.description
        case let .nonFiniteLoss(epoch, step, value, lastCheckpoint):
            let kept = lastCheckpoint.map { "; the last good checkpoint is \($0)" } ?? "; no checkpoint was written yet"
            return
                "training stopped: the loss became \(value) at epoch \(epoch), step \(step) (try a lower learning "
                + "rate)\(kept)"
        case let .graph(error):
            return error.description
        case let .checkpoint(message):
            return message
        case let .model(message):
            return message
        }
    }
}
