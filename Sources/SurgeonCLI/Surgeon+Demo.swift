import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonPipeline
import SurgeonStrategies

extension SurgeonCommand {
    /// `surgeon demo`: the whole pipeline on the bundled MNIST data (or the folder `--data-dir` names).
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Run the pipeline (train, sparse-train, prune to half the MACs, retrain) on the bundled MNIST data or "
                + "--data-dir.",
            discussion: """
                For each variant: 5 epochs of training on 4,000 images, 5 of sparse training aimed at the cut \
                (growing-lasso, lambda 0.1: group lasso on the channels the prune stage will delete), pruning by \
                |gamma| to at most 50% of the MACs (--target-macs; kept channels a multiple of 8, --round-to) with the BatchNorm \
                statistics recalibrated, 5 epochs of retraining with a warm-up; validation on 1,000 images. Prints \
                one table per variant and writes each run folder (with report.html) under the output folder. --quick \
                shortens every stage. --data-dir runs on other 28x28x1 images with 10 classes instead: at least \
                5,000 samples, the first 4,000 (2,000 with --quick) to train on, samples 4,000 to 5,000 to validate \
                on.
                """)

        enum Variant: String, ExpressibleByArgument, CaseIterable { case mobilenetv2, res, vgg, all }

        @Option(help: "Which variant to run: mobilenetv2, res, vgg or all.") var variant: Variant = .all
        @Flag(help: "A short run: 2 epochs of training on 2,000 images, 1 of sparse training, 1 of retraining.")
        var quick = false
        @Option(name: .shortAndLong, help: ArgumentHelp("The folder for the runs.", valueName: "DIR")) var output =
            "surgeon-demo"
        @Option(
            help: ArgumentHelp(
                "A folder holding images.npy and labels.npy to use instead of the bundled MNIST data.", valueName: "DIR"
            ))
        var dataDir: String?
        @Option(help: "Seed for the initial weights, the shuffling and the sampling of every stage.")
        var seed: UInt64 = 0
        @Option(
            help: ArgumentHelp(
                "The prune stage's MACs target, as a fraction of the unpruned model's (0.2 cuts 80%).", valueName: "F"))
        var targetMacs = 0.5
        @Option(
            help: ArgumentHelp(
                "Round kept channels up to a multiple of N (16 fills the 16-float vectors of AVX-512 kernels: "
                    + "faster at batch 1, but no deep cut).", valueName: "N"))
        var roundTo = 8
        @OptionGroup var threads: ThreadOptions
        @OptionGroup var out: OutputOptions

        /// `images.npy` and `labels.npy` in `--data-dir`, when it is given.
        var dataFiles: (images: String, labels: String)? {
            guard let dataDir else { return nil }
            let folder = URL(fileURLWithPath: dataDir)
            return (folder.appendingPathComponent("images.npy").path, folder.appendingPathComponent("labels.npy").path)
        }

        /// The standard recipe of `variant`, on the data of `--data-dir` when it is given.
        func recipe(variant: String) -> Recipe {
            var recipe = Recipe.standard(variant: variant, quick: quick, targetMacs: targetMacs, roundTo: roundTo)
            recipe.seed = seed
            if let dataFiles { (recipe.images, recipe.labels) = (dataFiles.images, dataFiles.labels) }
            return recipe
        }

        /// The non-default settings, for the report's title.
        var settings: String {
            (targetMacs == 0.5 ? "" : ", MACs to \(Output.percent(targetMacs))")
                + (roundTo == 8 ? "" : ", channels rounded to \(roundTo)") + (seed == 0 ? "" : ", seed \(seed)")
        }

        func validate() throws {
            try OutputPath.refuseStandardOutput(output, option: "--output", folderFor: "the run folders")
            do { try Budget(.macs(targetMacs), roundTo: roundTo).validate() } catch {
                throw ValidationError("\(error)")
            }
        }

        func run() throws {
            threads.apply()
            if let dataDir, let dataFiles {
                for file in [dataFiles.images, dataFiles.labels] where !FileManager.default.fileExists(atPath: file) {
                    throw CommandError(
                        "--data-dir \(dataDir) has no \(URL(fileURLWithPath: file).lastPathComponent); give a folder "
                            + "with images.npy and labels.npy"
                    )
                }
            }
            let variants = variant == .all ? ["mobilenetv2", "res", "vgg"] : [variant.rawValue]
            var results: [PipelineCommand.Result] = []
            for v in variants {
                Output.status("=== \(v)")
                let recipe = recipe(variant: v)
                let folder = URL(fileURLWithPath: output).appendingPathComponent(v)
                let result = try PipelineCommand.execute(
                    recipe, folder: folder, relativeTo: URL(fileURLWithPath: "."),
                    title: "surgeon demo: \(v)\(quick ? " (quick)" : "")\(settings)", variant: v)
                results.append(result)
                if !out.json { PipelineCommand.printTable(result) }
            }
            if out.json {
                if results.count == 1 { try Output.json(results[0]) } else { try Output.json(results) }
            }
        }
    }
}
