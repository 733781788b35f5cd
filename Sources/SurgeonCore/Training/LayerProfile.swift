/// Where the time of training steps goes, per layer type, forward and backward (`surgeon-bench
/// train --profile`): `Graph.forwardTraining`, `Graph.backward` and `Trainer.step` add to it when
/// given one, and compute exactly what they compute without it.
///
/// A class, so that one profile collects across the calls of a run; not for use from several
/// threads at once.
public final class LayerProfile {
    /// The pseudo layer type of the loss (and distillation), timed with the forward passes.
    public static let loss = "(loss)"
    /// The pseudo layer type of the regularisers, the optimizer step and the new BatchNorm
    /// statistics, timed with the backward passes.
    public static let update = "(regularisers and optimizer)"

    /// One layer type's totals.
    public struct Entry: Sendable, Equatable, Codable {
        public var type: String
        public var forwardCalls = 0
        public var backwardCalls = 0
        public var forwardSeconds = 0.0
        public var backwardSeconds = 0.0

        public var seconds: Double { forwardSeconds + backwardSeconds }
    }

    private var entries: [String: Entry] = [:]

    public init() {}

    public func add(_ type: String, forward: Duration) {
        entries[type, default: Entry(type: type)].forwardCalls += 1
        entries[type, default: Entry(type: type)].forwardSeconds += forward.inSeconds
    }

    public func add(_ type: String, backward: Duration) {
        entries[type, default: Entry(type: type)].backwardCalls += 1
        entries[type, default: Entry(type: type)].backwardSeconds += backward.inSeconds
    }

    /// Every layer type's totals, the most time first.
    public var table: [Entry] { entries.values.sorted { ($0.seconds, $1.type) > ($1.seconds, $0.type) } }

    /// The time of all entries.
    public var totalSeconds: Double { entries.values.reduce(0) { $0 + $1.seconds } }
}
