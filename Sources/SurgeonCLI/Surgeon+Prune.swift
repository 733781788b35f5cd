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

                """ + StrategyCatalog.text)

        @OptionGroup var input: ModelDataOptions<OptionalLabeledFiles>

        @Option(help: ArgumentHelp("The pruning plan (JSON).", valueName: "PLAN.json"))
        var plan: String?

        @OptionGroup var strategy: StrategyOptions

        @Option(help: ArgumentHelp("With --strategy: reach the budget in K equal steps.", valueName: "K")) var steps = 1

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
            let probe =
                data.map { $0.images.slice(rows: 0..<min(64, $0.count)) }
                ?? BiasCompensation.randomProbe(
                    shape: graph.shapes[graph.inputNodeIndices.first ?? 0], seed: strategy.seed)
            if let planPath = self.plan {
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
            if let data, recalibrateBatches > 0 {
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
                if var result = lastResult {
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
