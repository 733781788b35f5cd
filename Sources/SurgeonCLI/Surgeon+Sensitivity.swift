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
            abstract: "Prune each group alone at several ratios and measure the accuracy drop; writes sensitivity.svg and sensitivity.json.")

        @Argument(help: ArgumentHelp("The model file (.surgeon, .keras or .h5).", valueName: "MODEL")) var model: String
        @OptionGroup var data: LabeledDataOptions
        @Option(help: "The importance criterion that picks the channels.") var strategy = "l1"
        @Option(help: "How a group's members combine.") var policy = "mean"
        @Option(help: ArgumentHelp("Shares of each group to delete, comma-separated.", valueName: "R,R,...")) var ratios = "0.25,0.5,0.75"
        @Option(name: .shortAndLong, help: ArgumentHelp("The folder for sensitivity.svg and sensitivity.json.", valueName: "DIR"))
        var output = "sensitivity"
        @OptionGroup var threads: ThreadOptions
        @OptionGroup var out: OutputOptions

        func parsedRatios() throws -> [Double] {
            let values = ratios.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! > 0 && $0! < 1 }) else {
                throw ValidationError("--ratios takes comma-separated shares between 0 and 1, got '\(ratios)'")
            }
            return values.map { $0! }
        }

        func validate() throws {
            _ = try parsedRatios()
            do {
                try Registries.current.strategies.validate(StrategySpec(strategy), as: .criterion)
                try Registries.current.strategies.validate(StrategySpec(policy), as: .policy)
            } catch { throw ValidationError("\(error)") }
        }

        func run() throws {
            threads.apply()
            let contents = try Inputs.model(model)
            let set = try Inputs.labeled(data: data.data, labels: data.labels,
                                         normalization: (try Inputs.storedNormalization(contents, source: model)) ?? .unitRange)
            let report = try SensitivityReport.measure(
                contents.graph, data: set, criterion: try Registries.current.strategies.criterion(StrategySpec(strategy)),
                policy: try Registries.current.strategies.policy(StrategySpec(policy)), ratios: try parsedRatios(), surgeon: Registries.current.surgeon)
            let dir = URL(fileURLWithPath: output)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try AtomicFile.write(Data(RunReport.sensitivityChart(report).utf8), to: dir.appendingPathComponent("sensitivity.svg"))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(encoder.encode(report), to: dir.appendingPathComponent("sensitivity.json"))
            if out.json { try Output.json(report); return }
            print(Output.table(["group", "layer", "channels"] + report.ratios.map { String(format: "drop @%.0f%%", $0 * 100) },
                               report.curves.map { c in ["\(c.group)", c.layer, "\(c.size)"] + c.drops.map { String(format: "%.2f pts", $0 * 100) } },
                               rightAligned: Set(2..<(3 + report.ratios.count))))
            print("baseline accuracy \(Output.percent(report.baselineAccuracy)); wrote \(dir.path)/sensitivity.svg and sensitivity.json")
        }
    }
}
