import SurgeonCore

/// How much to prune, and the limits every group keeps.
public struct Budget: Sendable, Equatable {
    public enum Target: Sendable, Equatable {
        /// Delete this share of the channels: of each group (local), or of all prunable channels
        /// ranked together (global; scores normalised per group unless the criterion's scores
        /// are comparable across groups, as BatchNorm gammas are).
        case ratio(Double, global: Bool)
        /// Delete every channel whose score is below this (e.g. |gamma| < 0.01, Network Slimming).
        case threshold(Float)
        /// Prune until the model's MACs are at most this fraction of the original.
        case macs(Double)
        /// Prune until the model's parameters are at most this fraction of the original.
        case params(Double)
    }

    public var target: Target
    /// Channels every group keeps, at least.
    public var minChannels: Int
    /// The largest share of a group that may go.
    public var maxRatio: Double
    /// Kept channels are rounded up to a multiple of this (when a group is pruned at all).
    public var roundTo: Int
    /// Groups with any of these layers are left alone.
    public var ignore: Set<String>

    public init(
        _ target: Target, minChannels: Int = 1, maxRatio: Double = 0.9, roundTo: Int = 1, ignore: Set<String> = []
    ) {
        self.target = target
        self.minChannels = minChannels
        self.maxRatio = maxRatio
        self.roundTo = roundTo
        self.ignore = ignore
    }

    public func validate() throws(StrategyError) {
        let number: Double
        switch target {
        case let .ratio(r, _): number = r
        case let .threshold(t): number = Double(t)
        case let .macs(f), let .params(f): number = f
        }
        do { _ = try OutsideNumber.finite(number) } catch {
            throw .invalidBudget("the budget's target is refused: \(error)")
        }
        do { _ = try OutsideNumber.finite(maxRatio) } catch { throw .invalidBudget("--max-ratio: \(error)") }
        switch target {
        case let .ratio(r, _) where !(r >= 0 && r < 1):
            throw .invalidBudget("the ratio must be in [0, 1), got \(r)")
        case let .macs(f) where !(f > 0 && f <= 1), let .params(f) where !(f > 0 && f <= 1):
            throw .invalidBudget("a MACs or parameter target must be a fraction in (0, 1], got \(f)")
        default: break
        }
        guard minChannels >= 1 else { throw .invalidBudget("--min-channels must be at least 1, got \(minChannels)") }
        guard maxRatio > 0, maxRatio <= 1 else {
            throw .invalidBudget("--max-ratio must be in (0, 1], got \(maxRatio)")
        }
        guard roundTo >= 1 else { throw .invalidBudget("--round-to must be at least 1, got \(roundTo)") }
    }

    /// What the budget measures: parameters for a parameter target, MACs otherwise.
    public func cost(of graph: Graph) -> Int {
        if case .params = target { return graph.parameterCount }
        return graph.macCount
    }

    /// The budget of step `step` (1-based) of `steps` equal steps, relative to the model at that
    /// step: `costNow` and `costOriginal` are its MACs (or parameters) now and at the start.
    public func step(_ step: Int, of steps: Int, costNow: Int, costOriginal: Int) -> Budget {
        guard steps > 1 else { return self }
        var b = self
        switch target {
        case let .ratio(r, global):
            b.target = .ratio(1 - pow(1 - r, 1 / Double(steps)), global: global)
        case let .macs(f):
            b.target = .macs(
                min(1, (1 - Double(step) * (1 - f) / Double(steps)) * Double(costOriginal) / Double(max(costNow, 1))))
        case let .params(f):
            b.target = .params(
                min(1, (1 - Double(step) * (1 - f) / Double(steps)) * Double(costOriginal) / Double(max(costNow, 1))))
        case .threshold:
            break
        }
        return b
    }
}

#if canImport(Glibc)
    import Glibc
#endif
