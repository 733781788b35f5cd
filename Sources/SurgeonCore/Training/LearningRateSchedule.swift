#if canImport(Glibc)
    import Glibc
#endif

/// How the learning rate changes over training, after an optional linear warm-up.
public enum LearningRateSchedule: Sendable, Codable, Equatable {
    /// The base rate throughout.
    case constant
    /// The rate times `factor` after every `every` epochs.
    case step(every: Int, factor: Double)
    /// Cosine decay from the base rate to zero over the steps after warm-up (Loshchilov &
    /// Hutter, SGDR, ICLR 2017, without restarts).
    case cosine

    /// The rate at global step `step` (0-based) of `totalSteps`, with `warmupSteps` of linear
    /// warm-up from base/warmupSteps up to base.
    public func rate(base: Double, step: Int, totalSteps: Int, warmupSteps: Int, stepsPerEpoch: Int) -> Double {
        if step < warmupSteps { return base * Double(step + 1) / Double(warmupSteps) }
        switch self {
        case .constant:
            return base
        case let .step(every, factor):
            let epoch = step / max(stepsPerEpoch, 1)
            return base * pow(factor, Double(epoch / max(every, 1)))
        case .cosine:
            let span = max(totalSteps - warmupSteps, 1)
            let progress = Double(step - warmupSteps) / Double(span)
            return base * 0.5 * (1 + cos(Double.pi * min(progress, 1)))
        }
    }

    /// The name used on the command line.
    public var name: String {
        switch self {
        case .constant: return "constant"
        case .step: return "step"
        case .cosine: return "cosine"
        }
    }
}
