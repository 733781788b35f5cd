import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonKeras
import SurgeonPlugins

extension Surgeon {
    /// `surgeon run RECIPE.yaml`.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a pipeline recipe: train, sparse-train, prune, retrain, eval, export.",
            discussion: """
            Each stage writes its model and metrics into the run folder; running the same command again resumes \
            at the stage (and epoch) a stopped run reached. The recipe is checked before any work starts. At the \
            end the folder holds metrics.json and report.html. Examples are in examples/.
            """)

        @Argument(help: ArgumentHelp("The recipe (YAML).", valueName: "RECIPE.yaml")) var recipe: String
        @Option(name: .shortAndLong, help: ArgumentHelp("The run folder (default: the recipe's name without .yaml).", valueName: "DIR"))
        var output: String?
        @OptionGroup var threads: ThreadOptions
        @OptionGroup var out: OutputOptions

        func run() throws {
            threads.apply()
            let text: String
            do { text = try String(contentsOfFile: recipe, encoding: .utf8) } catch {
                throw CommandError("cannot read the recipe \(recipe): \((error as NSError).localizedDescription)")
            }
            let parsed = try RecipeParser(source: recipe).parse(text)
            let folder = output ?? URL(fileURLWithPath: recipe).deletingPathExtension().lastPathComponent
            let base = URL(fileURLWithPath: recipe).deletingLastPathComponent()
            let result = try PipelineCommand.execute(parsed, folder: URL(fileURLWithPath: folder), relativeTo: base,
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

    static func execute(_ recipe: Recipe, folder: URL, relativeTo base: URL, title: String, variant: String? = nil) throws -> Result {
        let clock = ContinuousClock.now
        func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : base.appendingPathComponent(path).path }
        let images: String, labels: String
        if let i = recipe.images, let l = recipe.labels {
            images = resolve(i)
            labels = resolve(l)
        } else {
            let bundled = try BundledData.mnistFolder()
            images = bundled.appendingPathComponent("images.npy").path
            labels = bundled.appendingPathComponent("labels.npy").path
        }
        let all = try Inputs.labeled(data: images, labels: labels, normalization: .unitRange)
        for (name, range) in [("train", recipe.trainRange), ("validation", recipe.validationRange)] where range.upperBound > all.count {
            throw CommandError("the recipe's \(name) range \(range.lowerBound)..<\(range.upperBound) exceeds the \(all.count) samples of \(images)")
        }
        let graph: Graph
        var origin: ConfigValue?
        switch recipe.model {
        case let .architecture(name, shape, classes, width):
            graph = try ArchitectureRegistry.standard.architecture(named: name)
                .build(ArchitectureOptions(inputShape: shape, classes: classes, width: width, seed: recipe.seed))
        case let .file(path):
            let contents = try Inputs.model(resolve(path))
            graph = contents.graph
            origin = contents.metadata[KerasOrigin.metadataKey]
        }
        var runner = PipelineRunner(recipe: recipe, folder: folder)
        runner.metadata = [Inputs.normalizationKey: try ConfigValue(encoding: InputNormalization.unitRange)]
        // A Keras model keeps its original layer arguments for an export to .keras.
        runner.metadata[KerasOrigin.metadataKey] = origin
        let display = ProgressDisplay()
        runner.onEvent = { event in
            switch event {
            case let .stageStarted(index, total, name): Output.status("== stage \(index)/\(total): \(name)")
            case let .training(e): display.handle(e)
            case let .stageFinished(r):
                Output.status(String(format: "   %@: accuracy %.2f%%, %@ params, %@ MACs (%.1f s)", r.label, r.accuracy * 100,
                                     Output.grouped(r.params), Output.grouped(r.macs), r.seconds))
            }
        }
        let results = try runner.run(initial: graph, train: all.slice(recipe.trainRange), validation: all.slice(recipe.validationRange))
        let report = folder.appendingPathComponent("report.html")
        try AtomicFile.write(Data(RunReport.html(title: title, results: results).utf8), to: report)
        return Result(variant: variant, folder: folder.path,
                      stages: results.map { .init(stage: $0.label, accuracy: $0.accuracy, loss: $0.loss, params: $0.params, macs: $0.macs,
                                                  seconds: $0.seconds, latency_ms_batch1: $0.latencyMsBatch1, latency_ms_batch64: $0.latencyMsBatch64) },
                      total_seconds: (ContinuousClock.now - clock).inSeconds, report: report.path)
    }

    static func printTable(_ result: Result) {
        if let v = result.variant { print("\n\(v)") }
        print(Output.table(
            ["stage", "val acc", "params", "MACs", "latency b1", "latency b64", "seconds"],
            result.stages.map { s in
                [s.stage, Output.percent(s.accuracy), Output.grouped(s.params), Output.grouped(s.macs),
                 s.latency_ms_batch1.map { String(format: "%.2f ms", $0) } ?? "-",
                 s.latency_ms_batch64.map { String(format: "%.2f ms", $0) } ?? "-", String(format: "%.1f", s.seconds)]
            }, rightAligned: [1, 2, 3, 4, 5, 6]))
        print("report: \(result.report)")
    }
}
