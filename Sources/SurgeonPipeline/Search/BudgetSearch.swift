import SurgeonCore
import SurgeonStrategies

/// Accuracy-targeted pruning: the largest MACs cut whose validation accuracy stays within
/// `maxDrop` points of the unpruned model's (`surgeon prune --max-drop`, a prune stage's
/// `max_drop:`).
///
/// The search probes MACs targets 90%, 80%, ... 10%, 5% of the original, stops at the first
/// that loses too much and then halves the gap between the last that passed and the first that
/// failed until it is under `resolution`. At every target it plans several allocations of the
/// cut over the groups (`Allocation`) and keeps the one with the best accuracy after BatchNorm
/// recalibration — EagleEye's adaptive-BatchNorm ranking (Li et al., ECCV 2020) instead of
/// fine-tuning every candidate. Only the chosen candidate is fine-tuned, for `finetuneEpochs`
/// (none by default: the accuracy compared is then the recalibrated one). Accuracy is assumed to
/// fall as the cut grows; a target past the first failure is not probed.
public struct BudgetSearch: Sendable {
    /// What the search looks for and how hard it tries.
    public struct Settings: Sendable, Equatable {
        /// Validation accuracy, in points (percent), the pruned model may lose.
        public var maxDrop: Double
        /// Epochs of fine-tuning of each probe's chosen candidate before its accuracy is judged.
        public var finetuneEpochs = 0
        /// The search stops when the MACs fractions of the last pass and first failure differ by
        /// at most this.
        public var resolution = 0.025

        public init(maxDrop: Double, finetuneEpochs: Int = 0) {
            self.maxDrop = maxDrop
            self.finetuneEpochs = finetuneEpochs
        }

        /// The accepted `maxDrop` (points).
        public static let drops = 0.0...100.0
        /// The MACs targets probed before bisection.
        public static let grid = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
        /// The learning rate of the probes' fine-tuning (the retrain stage's).
        public static let finetuneLearningRate = 0.01
    }

    /// How a candidate spreads the cut over the groups.
    public enum Allocation: String, Sendable, Codable, CaseIterable {
        /// The criterion's global ranking under the budget's limits (the planner's own).
        case global
        /// The global ranking with at most `cappedShare` of any group deleted: the cut spread
        /// over more layers.
        case capped
        /// The same share of every group (the smallest share that reaches the target).
        case uniform

        /// The largest share of one group the `capped` allocation deletes.
        public static let cappedShare = 0.6
    }

    /// One candidate at a target.
    public struct Candidate: Sendable, Codable, Equatable {
        public var allocation: Allocation
        public var macs: Int
        public var params: Int
        /// Validation accuracy after surgery and recalibration.
        public var accuracy: Double
    }

    /// One MACs target tried: its candidates and the accuracy of the best of them.
    public struct Probe: Sendable, Codable, Equatable {
        /// The MACs target, as a fraction of the original model's.
        public var target: Double
        public var candidates: [Candidate]
        /// The candidate kept (index into `candidates`).
        public var chosen: Int
        public var macs: Int
        public var params: Int
        /// The chosen candidate's accuracy after recalibration, before fine-tuning.
        public var recalibratedAccuracy: Double
        /// The accuracy judged: after `finetuneEpochs` of fine-tuning (the recalibrated one
        /// without).
        public var accuracy: Double
        /// True when `accuracy` is within the allowed drop.
        public var accepted: Bool

        /// One line for progress: the target, the allocation kept, its size and accuracy.
        public var summary: String {
            let candidate = candidates[chosen]
            let finetuned =
                accuracy == recalibratedAccuracy
                ? "" : String(format: " (%.2f%% before fine-tuning)", 100 * recalibratedAccuracy)
            return String(
                format: "MACs to %.1f%%: %@ allocation, %@ MACs, accuracy %.2f%%%@ - %@", 100 * target,
                candidate.allocation.rawValue, Thousands.grouped(macs), 100 * accuracy, finetuned,
                accepted ? "within the drop" : "too low")
        }
    }

    /// What the search did: the baseline, every probe in the order tried, and the one taken.
    public struct Report: Sendable, Codable, Equatable {
        public var maxDrop: Double
        public var finetuneEpochs: Int
        public var baselineAccuracy: Double
        public var baselineMacs: Int
        /// The lowest accuracy accepted: `baselineAccuracy - maxDrop / 100`.
        public var threshold: Double
        public var probes: [Probe]
        /// The accepted probe with the fewest MACs (index into `probes`).
        public var chosen: Int
    }

    /// What `run` returns: the chosen model (recalibrated, and fine-tuned when asked).
    public struct Outcome: Sendable {
        public var graph: Graph
        public var report: Report
        public var compensation: BiasCompensation.Report
    }

    /// The criterion, policy and limits (`budget.target` is ignored: the search sets it).
    public var planner: Planner
    public var settings: Settings
    public var compensation: BiasCompensation
    /// Batches of `Graph.Recalibration.batchSize` training images that re-estimate BatchNorm
    /// statistics after each cut; 0 ranks candidates on their statistics as surgery left them.
    public var recalibrationBatches = Graph.Recalibration.defaultBatches
    /// Called after every probe (progress).
    public var onProbe: (@Sendable (Probe) -> Void)?

    public init(planner: Planner, settings: Settings, compensation: BiasCompensation = .exact) {
        self.planner = planner
        self.settings = settings
        self.compensation = compensation
    }

    /// Searches `graph`'s cuts: recalibration and fine-tuning on `train`, accuracy on
    /// `validation` (which the data-driven criteria score on, as the prune stage does).
    public func run(_ graph: Graph, train: LabeledData, validation: LabeledData, seed: UInt64) throws -> Outcome {
        let drop = try OutsideNumber.finite(settings.maxDrop, in: Settings.drops)
        _ = try OutsideNumber.integer(settings.finetuneEpochs, in: SettingLimits.epochs)
        let baseline = try Evaluation.evaluate(graph, on: validation).accuracy
        let threshold = baseline - drop / 100
        var probes: [Probe] = []
        var best: (graph: Graph, compensation: BiasCompensation.Report, probe: Int)?
        var passed = 1.0, failed: Double?

        func attempt(_ target: Double) throws -> Bool? {
            guard let (probe, model, report) = try self.probe(graph, target: target, train, validation, seed, threshold)
            else { return nil }
            probes.append(probe)
            onProbe?(probe)
            if probe.accepted { best = (model, report, probes.count - 1) }
            return probe.accepted
        }
        for target in Settings.grid {
            guard let accepted = try attempt(target) else { break }
            if accepted { passed = target } else { failed = target; break }
        }
        while let high = failed, passed - high > settings.resolution + 1e-9 {
            let middle = (passed + high) / 2
            guard let accepted = try attempt(middle) else { break }
            if accepted { passed = middle } else { failed = middle }
        }
        guard let best else {
            throw BudgetSearchError.noCut(maxDrop: drop, baseline: baseline, probes: probes)
        }
        return Outcome(
            graph: best.graph,
            report: Report(
                maxDrop: drop, finetuneEpochs: settings.finetuneEpochs, baselineAccuracy: baseline,
                baselineMacs: graph.macCount, threshold: threshold, probes: probes, chosen: best.probe),
            compensation: best.compensation)
    }

    /// Plans every allocation at `target`, keeps the best recalibrated one, fine-tunes it when
    /// asked; nil when no allocation can reach the target.
    func probe(
        _ graph: Graph, target: Double, _ train: LabeledData, _ validation: LabeledData, _ seed: UInt64,
        _ threshold: Double
    ) throws -> (Probe, Graph, BiasCompensation.Report)? {
        let sample = train.images.slice(rows: 0..<min(64, train.count))
        var candidates: [Candidate] = []
        var kept: (graph: Graph, report: BiasCompensation.Report, index: Int)?
        for allocation in Allocation.allCases {
            guard let plan = try self.plan(graph, allocation: allocation, target: target, validation, seed) else {
                continue
            }
            var (pruned, report) = try planner.surgeon.apply(
                plan, to: graph, compensating: compensation, probe: sample)
            if recalibrationBatches > 0 {
                pruned = try pruned.recalibratingStatistics(
                    images: train.images, batchSize: Graph.Recalibration.batchSize, batches: recalibrationBatches,
                    seed: seed
                ).graph
            }
            let accuracy = try Evaluation.evaluate(pruned, on: validation).accuracy
            let candidate = Candidate(
                allocation: allocation, macs: pruned.macCount, params: pruned.parameterCount, accuracy: accuracy)
            if kept.map({ Self.worse(candidates[$0.index], candidate) }) ?? true {
                kept = (pruned, report, candidates.count)
            }
            candidates.append(candidate)
        }
        guard var kept else { return nil }
        let chosen = kept.index
        var accuracy = candidates[chosen].accuracy
        if settings.finetuneEpochs > 0 {
            var training = Recipe.Training()
            training.epochs = settings.finetuneEpochs
            training.learningRate = Settings.finetuneLearningRate
            let trainer = Trainer(configuration: training.configuration(seed: seed &+ 7_919))
            kept.graph = try trainer.fit(kept.graph, train: train).last
            accuracy = try Evaluation.evaluate(kept.graph, on: validation).accuracy
        }
        let probe = Probe(
            target: target, candidates: candidates, chosen: chosen, macs: candidates[chosen].macs,
            params: candidates[chosen].params, recalibratedAccuracy: candidates[chosen].accuracy, accuracy: accuracy,
            accepted: accuracy >= threshold - 1e-12)
        return (probe, kept.graph, kept.report)
    }

    /// True when `a` ranks below `b`: lower accuracy, or as accurate with more MACs.
    static func worse(_ a: Candidate, _ b: Candidate) -> Bool {
        a.accuracy != b.accuracy ? a.accuracy < b.accuracy : a.macs > b.macs
    }

    /// The plan of one allocation at `target`; nil when the allocation cannot reach it.
    func plan(
        _ graph: Graph, allocation: Allocation, target: Double, _ data: LabeledData, _ seed: UInt64
    ) throws -> PruningPlan? {
        var p = planner
        do {
            switch allocation {
            case .global:
                p.budget.target = .macs(target)
                return try p.plan(graph, data: data, seed: seed).plan
            case .capped:
                guard planner.budget.maxRatio > Allocation.cappedShare else { return nil }
                p.budget.maxRatio = Allocation.cappedShare
                p.budget.target = .macs(target)
                return try p.plan(graph, data: data, seed: seed).plan
            case .uniform:
                return try uniformPlan(graph, planner: p, target: target, data, seed)
            }
        } catch StrategyError.unreachable {
            return nil
        }
    }

    /// The plan deleting the smallest equal share of every group that brings the MACs to
    /// `target` (bisection on the share: deleting a larger share never costs more).
    func uniformPlan(
        _ graph: Graph, planner: Planner, target: Double, _ data: LabeledData, _ seed: UInt64
    ) throws -> PruningPlan? {
        let goal = target * Double(graph.macCount)
        var p = planner
        func result(_ share: Double) throws -> Planner.Result {
            p.budget.target = .ratio(share, global: false)
            return try p.plan(graph, data: data, seed: seed)
        }
        var low = 0.0, high = min(planner.budget.maxRatio, 0.999_999)
        var best = try result(high)
        guard Double(best.summary.macsAfter) <= goal else { return nil }
        for _ in 0..<12 {
            let middle = (low + high) / 2
            let r = try result(middle)
            if Double(r.summary.macsAfter) <= goal {
                high = middle
                best = r
            } else {
                low = middle
            }
        }
        return best.plan
    }
}

/// The search found no cut within the allowed drop.
public enum BudgetSearchError: Error, CustomStringConvertible {
    case noCut(maxDrop: Double, baseline: Double, probes: [BudgetSearch.Probe])

    public var description: String {
        switch self {
        case let .noCut(drop, baseline, probes):
            let smallest = probes.max { $0.target < $1.target }
            let detail =
                smallest.map {
                    String(
                        format: "; the smallest cut tried (to %.1f%% of the MACs) reached %.2f%%", 100 * $0.target,
                        100 * $0.accuracy)
                } ?? "; no allocation of the criterion could reach even 90% of the MACs"
            return String(
                format: "no cut keeps the validation accuracy within %g point(s) of the unpruned model's %.2f%%",
                drop, 100 * baseline) + detail + " (a larger --max-drop / max_drop accepts more)"
        }
    }
}
