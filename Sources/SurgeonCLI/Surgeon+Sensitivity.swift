import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonPipeline
import SurgeonStrategies

extension SurgeonCommand {
    /// `surgeon sensitivity MODEL --data X --labels Y --strategy NAME -o DIR`.
    struct Sensitivity: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Prune each group alone at several ratios and measure the accuracy drop; writes sensitivity.svg and "
                + "sensitivity.json."
        )

        @OptionGroup var input: ModelDataOptions<LabeledFiles>
        @Option(help: "The importance criterion that picks the channels.") var strategy = "l1"
        @Option(help: "How a group's members combine.") var policy = "mean"
        @Option(help: ArgumentHelp("Shares of each group to delete, comma-separated.", valueName: "R,R,..."))
        var ratios = "0.25,0.5,0.75"
        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("The folder for sensitivity.svg and sensitivity.json.", valueName: "DIR"))
        var output = "sensitivity"
        @OptionGroup var threads: ThreadOptions
        @OptionGroup var out: OutputOptions

        func parsedRatios() throws(ValidationError) -> [Double] {
            try CommaList.parse(ratios, option: "--ratios", takes: "comma-separated shares between 0 and 1") {
                $0 > 0 && $0 < 1
            }
        }

        func validate() throws {
            _ = try parsedRatios()
            try OutputPath.refuseStandardOutput(output, option: "--output", folderFor: "sensitivity.svg and .json")
            do {
                try Registries.current.strategies.validate(StrategySpec(strategy), as: .criterion)
                try Registries.current.strategies.validate(StrategySpec(policy), as: .policy)
            } catch { throw ValidationError("\(error)") }
        }

        func run() throws {
            threads.apply()
            let loaded = try input.load()
            let report = try SensitivityReport.measure(
                loaded.contents.graph, data: loaded.data,
                criterion: try Registries.current.strategies.criterion(StrategySpec(strategy)),
                policy: try Registries.current.strategies.policy(StrategySpec(policy)), ratios: try parsedRatios(),
                surgeon: Registries.current.surgeon)
            let dir = URL(fileURLWithPath: output)
            try OutputFolder.create(dir, purpose: "the report folder (-o)")
            try AtomicFile.write(
                Data(RunReport.sensitivityChart(report).utf8), to: dir.appendingPathComponent("sensitivity.svg"))
            try ReadableJSON.write(report, to: dir.appendingPathComponent("sensitivity.json"))
            if out.json { try Output.json(report); return }
            print(
                Output.table(
                    ["group", "layer", "channels"] + report.ratios.map { String(format: "drop @%.0f%%", $0 * 100) },
                    report.curves.map { c in
                        ["\(c.group)", c.layer, "\(c.size)"] + c.drops.map { String(format: "%.2f pts", $0 * 100) }
                    },
                    rightAligned: Set(2..<(3 + report.ratios.count))))
            print(
                "baseline accuracy \(Output.percent(report.baselineAccuracy)); wrote \(dir.path)/sensitivity.svg and "
                    + "sensitivity.json"
            )
        }
    }
}
