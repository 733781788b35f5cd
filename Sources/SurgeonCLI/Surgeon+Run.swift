import ArgumentParser
import Foundation
import SurgeonCore
import SurgeonFormats
import SurgeonPipeline

extension SurgeonCommand {
    /// `surgeon run RECIPE.yaml`.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a pipeline recipe: train, sparse-train, prune, retrain, eval, export.",
            discussion: """
                Each stage writes its model and metrics into the run folder; running the same command again resumes \
                at the stage (and epoch) a stopped run reached. The recipe is checked before any work starts. At the \
                end the folder holds metrics.json and report.html. A folder another run is using is refused (exit \
                75). Examples are in examples/.
                """)

        @Argument(help: ArgumentHelp("The recipe (YAML).", valueName: "RECIPE.yaml")) var recipe: String
        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("The run folder (default: the recipe's name without .yaml).", valueName: "DIR"))
        var output: String?
        @OptionGroup var threads: ThreadOptions
        @OptionGroup var out: OutputOptions

        func validate() throws {
            try OutputPath.refuseStandardOutput(output, option: "--output", folderFor: "the run's stages")
        }

        func run() throws {
            threads.apply()
            let text: String
            do { text = try String(contentsOfFile: recipe, encoding: .utf8) } catch {
                throw CommandError("cannot read the recipe \(recipe): \(ReadableError.reading(error))")
            }
            let parsed = try RecipeParser(
                source: recipe, strategies: Registries.current.strategies,
                architectures: Registries.current.architectures
            ).parse(text)
            let folder = output ?? URL(fileURLWithPath: recipe).deletingPathExtension().lastPathComponent
            let base = URL(fileURLWithPath: recipe).deletingLastPathComponent()
            let result = try PipelineCommand.execute(
                parsed, folder: URL(fileURLWithPath: folder), relativeTo: base,
                title: "surgeon run \(recipe)")
            if out.json { try Output.json(result) } else { PipelineCommand.printTable(result) }
        }
    }
}

/// Running a recipe from the command line: data, progress, the report.
enum PipelineCommand {
    /// The `--json` result of a run (one variant for `demo`).
    struct Result: Encodable {
        struct Stage: Encodable {
            var stage: String
            var accuracy: Double
            var loss: Double
            var params: Int
            var macs: Int
            var seconds: Double
            var latency_ms_batch1: Double?
            var latency_ms_batch64: Double?
        }
        var variant: String?
        var folder: String
        var stages: [Stage]
        var total_seconds: Double
        var report: String
    }

    /// Resolves the recipe's data and model, runs it with the command's registries and writes
    /// `report.html` into the run folder.
    static func execute(
        _ recipe: Recipe, folder: URL, relativeTo base: URL, title: String, variant: String? = nil
    ) throws -> Result {
        let clock = ContinuousClock.now
        let registries = Registries.current
        let start = try PipelineRunner.start(recipe, relativeTo: base, registries: registries)
        var runner = PipelineRunner(recipe: recipe, folder: folder, registries: registries)
        let display = ProgressDisplay()
        runner.onEvent = { event in
            switch event {
            case let .stageStarted(index, total, name): Output.status("== stage \(index)/\(total): \(name)")
            case let .training(e): display.handle(e)
            case let .searchProbe(p): Output.status("   search: \(p.summary)")
            case let .stageFinished(r):
                Output.status(
                    String(
                        format: "   %@: accuracy %.2f%%, %@ params, %@ MACs (%.1f s)", r.label, r.accuracy * 100,
                        Output.grouped(r.params), Output.grouped(r.macs), r.seconds))
            }
        }
        let results = try FolderInUse.mapping { try runner.run(start) }
        let report = folder.appendingPathComponent("report.html")
        try AtomicFile.write(Data(RunReport.html(title: title, results: results).utf8), to: report)
        return Result(
            variant: variant, folder: folder.path,
            stages: results.map {
                .init(
                    stage: $0.label, accuracy: $0.accuracy, loss: $0.loss, params: $0.params, macs: $0.macs,
                    seconds: $0.seconds, latency_ms_batch1: $0.latencyMsBatch1, latency_ms_batch64: $0.latencyMsBatch64)
            },
            total_seconds: (ContinuousClock.now - clock).inSeconds, report: report.path)
    }

    static func printTable(_ result: Result) {
        if let v = result.variant { print("\n\(v)") }
        print(
            Output.table(
                ["stage", "val acc", "params", "MACs", "latency b1", "latency b64", "seconds"],
                result.stages.map { s in
                    [
                        s.stage, Output.percent(s.accuracy), Output.grouped(s.params), Output.grouped(s.macs),
                        s.latency_ms_batch1.map { String(format: "%.2f ms", $0) } ?? "-",
                        s.latency_ms_batch64.map { String(format: "%.2f ms", $0) } ?? "-",
                        String(format: "%.1f", s.seconds),
                    ]
                }, rightAligned: [1, 2, 3, 4, 5, 6]))
        print("report: \(result.report)")
    }
}
