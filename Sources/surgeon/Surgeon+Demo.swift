import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonPlugins

extension Surgeon {
    /// `surgeon demo`: the bundled MNIST data, the origin write-up's variants, trained and measured.
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train and evaluate the built-in variants on the bundled MNIST data (4,000 train / 1,000 validation).",
            discussion: "Writes each trained model to the output folder and prints accuracy, size, cost and latency per variant.")

        enum Variant: String, ExpressibleByArgument, CaseIterable { case mobilenetv2, res, vgg, all }

        @Option(help: "Which variant to run: mobilenetv2, res, vgg or all.") var variant: Variant = .all
        @Flag(help: "One epoch instead of five (a smoke run).") var quick = false
        @Option(name: .shortAndLong, help: ArgumentHelp("The folder for models and metrics.", valueName: "DIR"))
        var output = "surgeon-demo"
        @Option(help: ArgumentHelp("Use the MNIST files (images.npy, labels.npy) in this folder instead of the bundled ones.", valueName: "DIR"))
        var dataDir: String?
        @OptionGroup var threads: ThreadOptions
        @OptionGroup var out: OutputOptions

        struct Row: Codable {
            var variant: String
            var params: Int
            var macs: Int
            var validation_accuracy: Double
            var validation_loss: Double
            var train_seconds: Double
            var latency_ms_batch1: Double
            var latency_ms_batch64: Double
            var model: String
        }

        func run() throws {
            threads.apply()
            let folder = try dataDir.map { URL(fileURLWithPath: $0) } ?? BundledData.mnistFolder()
            let all = try Inputs.labeled(data: folder.appendingPathComponent("images.npy").path,
                                         labels: folder.appendingPathComponent("labels.npy").path, normalization: .unitRange)
            guard all.count >= 5000 else { throw CommandError("\(folder.path): expected 5,000 samples, found \(all.count)") }
            let train = all.slice(0..<4000), validation = all.slice(4000..<5000)
            let dir = URL(fileURLWithPath: output)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let variants = variant == .all ? [Variant.mobilenetv2, .res, .vgg] : [variant]
            var rows: [Row] = []
            for v in variants {
                Output.status("== \(v.rawValue): training \(quick ? 1 : 5) epoch(s) on 4,000 images, validating on 1,000")
                let graph = try ArchitectureRegistry.standard.architecture(named: v.rawValue)
                    .build(ArchitectureOptions(inputShape: [28, 28, 1], classes: 10))
                let display = ProgressDisplay()
                let trainer = Trainer(configuration: TrainingConfiguration(epochs: quick ? 1 : 5), registry: .standard,
                                      onEvent: { display.handle($0) })
                let clock = ContinuousClock.now
                let result = try trainer.fit(graph, train: train, validation: validation)
                let seconds = (ContinuousClock.now - clock).inSeconds
                let eval = try Evaluation.evaluate(result.last, on: validation)
                let path = dir.appendingPathComponent("\(v.rawValue).surgeon")
                try ModelFile.save(result.last, metadata: [Inputs.normalizationKey: try ConfigValue(encoding: InputNormalization.unitRange)], to: path)
                rows.append(Row(variant: v.rawValue, params: result.last.parameterCount, macs: result.last.macCount,
                                validation_accuracy: eval.accuracy, validation_loss: eval.loss, train_seconds: seconds,
                                latency_ms_batch1: try Self.latency(result.last, validation, batch: 1),
                                latency_ms_batch64: try Self.latency(result.last, validation, batch: 64), model: path.path))
            }
            try AtomicFile.write(JSONEncoder().encode(rows), to: dir.appendingPathComponent("metrics.json"))
            if out.json { try Output.json(rows); return }
            print(Output.table(
                ["variant", "val acc", "params", "MACs", "train s", "latency b1", "latency b64"],
                rows.map { [$0.variant, Output.percent($0.validation_accuracy), Output.grouped($0.params), Output.grouped($0.macs),
                            String(format: "%.1f", $0.train_seconds), String(format: "%.2f ms", $0.latency_ms_batch1),
                            String(format: "%.2f ms", $0.latency_ms_batch64)] },
                rightAligned: [1, 2, 3, 4, 5, 6]))
        }

        /// Median wall time of an inference batch over repeated runs.
        static func latency(_ graph: Graph, _ data: LabeledData, batch: Int) throws -> Double {
            let x = data.images.slice(rows: 0..<batch)
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
}
