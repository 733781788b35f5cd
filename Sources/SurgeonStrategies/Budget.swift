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
        var field = ""
        do {
            switch target {
            case let .ratio(r, _):
                field = "the ratio (--ratio, ratio:)"
                _ = try OutsideNumber.finite(r, in: 0...0.999_999)
            case let .threshold(t):
                field = "the threshold (--threshold, threshold:)"
                _ = try OutsideNumber.finite(Double(t))
            case let .macs(f):
                field = "the MACs target (--target-macs, target_macs:)"
                _ = try OutsideNumber.finite(f, in: 1e-9...1)
            case let .params(f):
                field = "the parameter target (--target-params, target_params:)"
                _ = try OutsideNumber.finite(f, in: 1e-9...1)
            }
            field = "--min-channels (min_channels:)"
            _ = try OutsideNumber.integer(minChannels, in: SettingLimits.minChannels)
            field = "--max-ratio (max_ratio:)"
            _ = try OutsideNumber.finite(maxRatio, in: 1e-9...1)
            field = "--round-to (round_to:)"
            _ = try OutsideNumber.integer(roundTo, in: SettingLimits.roundTo)
        } catch { throw .invalidBudget("\(field): \(error)") }
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
