import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonPipeline
import SurgeonStrategies

extension SurgeonCommand {
    /// `surgeon prune MODEL --plan PLAN.json -o OUT`.
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete the channels a plan names and write the smaller model.",
            discussion: """
                The whole plan is validated first (groups and sizes must match the model, indices in range, no group \
                emptied); only then is every layer rewritten, in one pass. A refused plan writes nothing. --dry-run \
                reports the change (channels per layer, parameters and MACs before and after) without writing.

                Instead of --plan, --strategy NAME with a budget plans and applies in one step (--steps K: in K equal \
                steps, re-scoring each time). Deleted channels are replaced by their mean value, folded into the \
                consumers' biases (a BatchNorm with gamma ~ 0 emits beta; the mean is measured on --data, or on \
                random inputs): --bias-compensation exact (default: only Dense layers and convolutions whose windows \
                read no zero padding), all (also 'same'-padded convolutions, approximate at the borders) or off.

                --max-drop P replaces the budget: it searches for the largest MACs cut whose validation accuracy stays \
                within P points of the unpruned model's. Accuracy is measured on the last --val-split share of --data; \
                the rest re-estimates BatchNorm statistics and, with --finetune-epochs E, fine-tunes each probe for E \
                epochs before it is judged. At every MACs target (90%, 80%, ... then halving the gap at the first \
                failure) three allocations of the cut are planned (global ranking, global with at most 60% of a \
                group, the same share of every group) and the best after recalibration is kept (EagleEye).

                """ + StrategyCatalog.text)

        @OptionGroup var input: ModelDataOptions<OptionalLabeledFiles>

        @Option(help: ArgumentHelp("The pruning plan (JSON).", valueName: "PLAN.json"))
        var plan: String?

        @OptionGroup var strategy: StrategyOptions

        @Option(help: ArgumentHelp("With --strategy: reach the budget in K equal steps.", valueName: "K")) var steps = 1

        @Option(
            help: ArgumentHelp(
                "Instead of a budget: the largest MACs cut within P points of validation accuracy (needs --strategy, "
                    + "--data, --labels).", valueName: "P"))
        var maxDrop: Double?

        @Option(
            help: ArgumentHelp(
                "With --max-drop: epochs of fine-tuning of each probe before its accuracy is judged.", valueName: "E"))
        var finetuneEpochs = 0

        @Option(
            help: ArgumentHelp(
                "With --max-drop: the last share of --data that measures accuracy (the rest recalibrates and "
                    + "fine-tunes).", valueName: "F"))
        var valSplit = 0.2

        @Option(help: "Fold constant deleted channels into consumers' biases: exact, all or off.")
        var biasCompensation: BiasCompensation = .exact

        @Option(
            help: ArgumentHelp(
                "With --data: after pruning, re-estimate every BatchNorm's moving mean and variance on N batches of "
                    + "\(Graph.Recalibration.batchSize) of its images (labels are not used); 0 turns it off.",
                valueName: "N"))
        var recalibrateBatches = Graph.Recalibration.defaultBatches

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp(Inputs.modelOutputHelp("pruned model file"), valueName: "OUT"))
        var output: String?

        @Flag(help: "Report what would change; write nothing.") var dryRun = false

        @OptionGroup var out: OutputOptions

        @OptionGroup var threads: ThreadOptions

        func validate() throws {
            if output == nil, !dryRun {
                throw ValidationError("give -o OUT.surgeon (or OUT.keras) for the pruned model, or --dry-run")
            }
            try Inputs.checkModelOutput(output)
            try OutputPath.refuseWithJSON(dryRun ? nil : output, option: "--output", json: out.json)
            guard (plan == nil) != (strategy.strategy == nil) else {
                throw ValidationError("give either --plan PLAN.json or --strategy NAME with a budget")
            }
            try OptionBounds.check(steps, "--steps", SettingLimits.pruneSteps)
            try OptionBounds.check(recalibrateBatches, "--recalibrate-batches", SettingLimits.recalibrationBatches)
            if steps > 1, plan != nil { throw ValidationError("--steps goes with --strategy") }
            guard let maxDrop else {
                try strategy.requireBudget()
                if finetuneEpochs != 0 { throw ValidationError("--finetune-epochs goes with --max-drop") }
                return
            }
            try OptionBounds.check(maxDrop, "--max-drop", BudgetSearch.Settings.drops)
            try OptionBounds.check(finetuneEpochs, "--finetune-epochs", SettingLimits.epochs)
            guard valSplit > 0, valSplit < 1 else {
                throw ValidationError("--val-split must be between 0 and 1, got \(valSplit)")
            }
            guard strategy.requested else { throw ValidationError("--max-drop goes with --strategy NAME") }
            let refused = strategy.targets + (steps == 1 ? [] : ["--steps"])
            guard refused.isEmpty else {
                throw ValidationError(
                    "--max-drop finds the budget itself: give it without \(refused.joined(separator: ", "))")
            }
            if input.files.data == nil {
                throw ValidationError("--max-drop measures accuracy: give --data X.npy and --labels Y.npy")
            }
        }

        func run() throws {
            if !dryRun { try Inputs.checkModelDestination(output) }
            threads.apply()
            let clock = ContinuousClock()
            var start = clock.now
            let loaded = try input.load()
            var seconds = PruneSeconds(load: (clock.now - start).inSeconds)
            start = clock.now
            let (contents, data) = (loaded.contents, loaded.data)
            var graph = contents.graph
            var compensation = BiasCompensation.Report()
            var lastResult: Planner.Result?
            var search: BudgetSearch.Report?
            let probe =
                data.map { $0.images.slice(rows: 0..<min(64, $0.count)) }
                ?? BiasCompensation.randomProbe(
                    shape: graph.shapes[graph.inputNodeIndices.first ?? 0], seed: strategy.seed)
            if let maxDrop, let data {
                let (train, validation) = try data.split(validationFraction: valSplit)
                var searcher = BudgetSearch(
                    planner: try strategy.planner(),
                    settings: BudgetSearch.Settings(maxDrop: maxDrop, finetuneEpochs: finetuneEpochs),
                    compensation: biasCompensation)
                searcher.recalibrationBatches = recalibrateBatches
                searcher.onProbe = { Output.status("search: \($0.summary)") }
                let outcome = try searcher.run(graph, train: train, validation: validation, seed: strategy.seed)
                (graph, compensation, search) = (outcome.graph, outcome.compensation, outcome.report)
            } else if let planPath = self.plan {
                (graph, compensation) = try Registries.current.surgeon.apply(
                    try PlanFile.read(planPath), to: graph,
                    compensating: biasCompensation, probe: probe)
            } else {
                let steps = self.steps
                let result = try strategy.planner().prune(
                    graph, steps: steps, data: data, probe: probe, compensation: biasCompensation, seed: strategy.seed
                ) { current, step in
                    if steps > 1 {
                        Output.status(
                            "step \(step)/\(steps): \(Output.grouped(current.macCount)) MACs, "
                                + "\(Output.grouped(current.parameterCount)) params"
                        )
                    }
                    return current
                }
                graph = result.graph
                compensation = result.compensation
                lastResult = result.last
            }
            var recalibration: Graph.Recalibration?
            if let data, recalibrateBatches > 0, search == nil {
                let result = try graph.recalibratingStatistics(
                    images: data.images, batchSize: Graph.Recalibration.batchSize, batches: recalibrateBatches,
                    seed: strategy.seed)
                graph = result.graph
                recalibration = result.report
            }
            let summary = PruningSummary(before: contents.graph, after: graph)
            seconds.prune = (clock.now - start).inSeconds
            if !dryRun, let output {
                start = clock.now
                try Inputs.save(ModelContents(graph: graph, metadata: contents.metadata), to: output)
                seconds.save = (clock.now - start).inSeconds
            }
            if out.json {
                if let search {
                    try Output.json(
                        SearchReport(
                            summary: summary, search: search, bias_compensation: compensation, seconds: seconds))
                } else if var result = lastResult {
                    result.summary = summary
                    var report = PlanReport(result, plan: nil, compensation: compensation)
                    report.seconds = seconds
                    report.recalibration = recalibration
                    try Output.json(report)
                } else {
                    try Output.json(summary)
                }
                return
            }
            let written = dryRun ? nil : output
            if let search { OutputPath.say(Self.table(search) + "\n", besides: written) }
            Self.print(summary, besides: written)
            if !compensation.folds.isEmpty || compensation.skippedApproximate > 0 {
                let folded = compensation.folds.reduce(0) { $0 + $1.channels }
                let constant = compensation.folds.reduce(0) { $0 + $1.constantChannels }
                OutputPath.say(
                    "bias compensation: \(folded) deleted channel(s) (\(constant) exactly constant) folded into "
                        + "\(compensation.folds.count) layer(s)"
                        + (compensation.skippedApproximate > 0
                            ? ", \(compensation.skippedApproximate) left (padding would make it approximate; "
                                + "--bias-compensation all folds them)"
                            : ""),
                    besides: written)
            }
            if let recalibration, !recalibration.layers.isEmpty {
                OutputPath.say(
                    "BatchNorm statistics re-estimated in \(recalibration.layers.count) layer(s) on "
                        + "\(recalibration.batches) batch(es), \(Output.grouped(recalibration.images)) images of --data",
                    besides: written)
            }
            if !dryRun, let output { Output.status("wrote \(OutputPath.name(output))") }
        }

        /// The search's probes, in the order tried, and the one kept.
        static func table(_ search: BudgetSearch.Report) -> String {
            let rows = search.probes.enumerated().map { k, p in
                [
                    String(format: "%.1f%%", 100 * p.target), p.candidates[p.chosen].allocation.rawValue,
                    Output.grouped(p.macs),
                    String(format: "%.1f%%", 100 * Double(p.macs) / Double(max(search.baselineMacs, 1))),
                    Output.percent(p.recalibratedAccuracy), Output.percent(p.accuracy),
                    k == search.chosen ? "kept" : p.accepted ? "within" : "too low",
                ]
            }
            return String(
                format: "unpruned: %.2f%%, lowest accepted %.2f%% (--max-drop %g)\n", 100 * search.baselineAccuracy,
                100 * search.threshold, search.maxDrop)
                + Output.table(
                    ["target", "allocation", "MACs", "share", "recalibrated", "judged", ""], rows,
                    rightAligned: [0, 2, 3, 4, 5])
        }

        /// Prints the changed layers and the totals; on standard error when standard output
        /// carries the written file (`besides` is `-`).
        static func print(_ summary: PruningSummary, besides output: String? = nil) {
            let changed = summary.layers.filter {
                $0.channelsBefore != $0.channelsAfter || $0.paramsBefore != $0.paramsAfter
            }
            OutputPath.say(
                Output.table(
                    ["layer", "type", "channels", "params"],
                    changed.map {
                        [
                            $0.name, $0.type, "\($0.channelsBefore) -> \($0.channelsAfter)",
                            "\(Output.grouped($0.paramsBefore)) -> \(Output.grouped($0.paramsAfter))",
                        ]
                    }), besides: output)
            func ratio(_ a: Int, _ b: Int) -> String { String(format: "%.1f%%", 100 * Double(b) / Double(max(a, 1))) }
            OutputPath.say(
                "\nparams \(Output.grouped(summary.paramsBefore)) -> \(Output.grouped(summary.paramsAfter)) "
                    + "(\(ratio(summary.paramsBefore, summary.paramsAfter)))", besides: output)
            OutputPath.say(
                "MACs   \(Output.grouped(summary.macsBefore)) -> \(Output.grouped(summary.macsAfter)) "
                    + "(\(ratio(summary.macsBefore, summary.macsAfter)))", besides: output)
        }
    }
}
