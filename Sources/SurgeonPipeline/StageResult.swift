import Layers
import SurgeonCore

/// What one stage of a pipeline produced: the figures of its model on the validation set.
public struct StageResult: Sendable, Codable, Equatable {
    public var index: Int
    /// The recipe's stage name (`train`, `sparse`, `prune`, ...).
    public var stage: String
    /// The model's state after it (`baseline`, `sparse`, `pruned`, `retrained`, ...).
    public var label: String
    public var accuracy: Double
    public var loss: Double
    public var params: Int
    public var macs: Int
    public var seconds: Double
    public var latencyMsBatch1: Double?
    public var latencyMsBatch64: Double?
    /// Per-epoch metrics of training stages.
    public var history: [EpochMetrics]
    /// |gamma| of every BatchNorm channel after the stage (for the Network Slimming histogram).
    public var gammas: [Float]
    public var pruning: PruningSummary?
    public var biasCompensation: BiasCompensation.Report?
    public var sensitivity: SensitivityReport?
    /// The prune stage's BatchNorm recalibration, and the validation accuracy right after
    /// surgery, before it (`accuracy` is after it).
    public var recalibration: Graph.Recalibration?
    public var accuracyBeforeRecalibration: Double?
    /// A `max_drop` prune stage's search: every probe and the one taken.
    public var search: BudgetSearch.Report?

    static func label(of stage: Recipe.Stage) -> String {
        switch stage {
        case .train: return "baseline"
        case .sparse: return "sparse"
        case .prune: return "pruned"
        case .retrain: return "retrained"
        case .eval: return "eval"
        case .export: return "export"
        }
    }
}

/// Measured inference latency.
public enum Latency {
    /// Median wall time in milliseconds of an inference on `batch` samples of `images`
    /// (repeated, after a warm-up), by the model in its inference form (`InferenceForm`), as
    /// `surgeon predict` runs it.
    public static func milliseconds(_ graph: Graph, images: Tensor, batch: Int) throws -> Double {
        let graph = try InferenceForm.prepared(graph)
        let n = min(batch, images.shape[0])
        let x = images.slice(rows: 0..<n)
        _ = try graph.predict([x])
        var times: [Double] = []
        for _ in 0..<(batch == 1 ? 31 : 9) {
            let t = ContinuousClock.now
            _ = try graph.predict([x])
            times.append((ContinuousClock.now - t).inSeconds * 1000)
        }
        return times.sorted()[times.count / 2]
    }
}

extension Graph {
    /// |gamma| of every layer with a `gamma` weight.
    public var absoluteGammas: [Float] {
        nodes.flatMap { node -> [Float] in
            guard let k = node.layer.channelScaleIndex, k < node.layer.weights.count else { return [] }
            return node.layer.weights[k].scalars.map { abs($0) }
        }
    }
}
