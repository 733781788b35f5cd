import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonPipeline
import SurgeonStrategies

extension SurgeonCommand {
    /// `surgeon plan MODEL --strategy NAME [budget] -o PLAN.json`.
    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Score every channel and write the pruning plan a budget allows (apply it with `surgeon prune "
                + "--plan`).",
            discussion: StrategyCatalog.text)

        @OptionGroup var input: ModelDataOptions<OptionalLabeledFiles>
        @OptionGroup var strategy: StrategyOptions
        @Option(
            name: .shortAndLong,
            help: ArgumentHelp(
                "The plan to write. " + OutputPath.help(standardOutput: "the plan"), valueName: "PLAN.json"))
        var output: String
        @OptionGroup var threads: ThreadOptions
        @OptionGroup var out: OutputOptions

        func validate() throws {
            guard strategy.requested else { throw ValidationError("give --strategy NAME (see `surgeon strategies`)") }
            try strategy.requireBudget()
            try OutputPath.refuseWithJSON(output, option: "--output", json: out.json)
        }

        func run() throws {
            try OutputPath.check(output)
            threads.apply()
            let loaded = try input.load()
            let result = try strategy.planner().plan(loaded.contents.graph, data: loaded.data, seed: strategy.seed)
            try PlanFile.write(result.plan, to: output)
            if out.json { try Output.json(PlanReport(result, plan: output)); return }
            Prune.print(result.summary, besides: output)
            OutputPath.say(
                "\(result.plan.deletedCount) channels in \(result.plan.groups.filter { !$0.delete.isEmpty }.count) "
                    + "groups; wrote \(OutputPath.name(output))", besides: output)
            if !result.unscoredGroups.isEmpty {
                OutputPath.say(
                    "not scored by \(strategy.strategy ?? ""), left whole: groups "
                        + "\(result.unscoredGroups.map(String.init).joined(separator: ", "))", besides: output)
            }
        }
    }
}

/// The `--json` output of `plan` and strategy-driven `prune`.
struct PlanReport: Encodable {
    var plan: String?
    var deleted_channels: Int
    var pruned_groups: Int
    var unscored_groups: [Int]
    var summary: PruningSummary
    var bias_compensation: BiasCompensation.Report?
    /// `prune` only: wall-clock seconds of its parts.
    var seconds: PruneSeconds?
    /// `prune` with `--data` only: the BatchNorms whose statistics were re-estimated.
    var recalibration: Graph.Recalibration?

    init(_ result: Planner.Result, plan: String?, compensation: BiasCompensation.Report? = nil) {
        self.plan = plan
        deleted_channels = result.plan.deletedCount
        pruned_groups = result.plan.groups.filter { !$0.delete.isEmpty }.count
        unscored_groups = result.unscoredGroups
        summary = result.summary
        bias_compensation = compensation
    }
}

/// The `--json` output of `prune --max-drop`: the chosen model's summary and the search.
struct SearchReport: Encodable {
    var summary: PruningSummary
    var search: BudgetSearch.Report
    var bias_compensation: BiasCompensation.Report
    var seconds: PruneSeconds
}

/// Where the wall-clock time of `surgeon prune` went: reading the model and data, scoring and
/// planning and rewriting the graph (with bias compensation), writing the file.
struct PruneSeconds: Encodable {
    var load: Double
    var prune: Double = 0
    var save: Double?
}
