import ArgumentParser
import Foundation
import SurgeonCore

extension SurgeonCommand {
    /// `surgeon eval MODEL --data X --labels Y`.
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Measure a model's accuracy and loss on labelled data.")

        @Argument(help: ArgumentHelp("The model file (.surgeon, .keras or .h5).", valueName: "MODEL"))
        var model: String

        @OptionGroup var data: LabeledDataOptions
        @OptionGroup var normalization: NormalizationOptions
        @Option(help: "Samples per inference batch.") var batchSize = 256
        @OptionGroup var threads: ThreadOptions
        @OptionGroup var out: OutputOptions

        func validate() throws {
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        }

        func run() throws {
            threads.apply()
            let contents = try Inputs.model(model)
            let norm = try normalization.parsed(stored: (try Inputs.storedNormalization(contents, source: model)))
            let set = try Inputs.labeled(data: data.data, labels: data.labels, normalization: norm)
            let result = try Evaluation.evaluate(contents.graph, on: set, batchSize: batchSize)
            if out.json { try Output.json(result); return }
            print(String(format: "accuracy %.4f  loss %.4f  samples %d", result.accuracy, result.loss, result.samples))
        }
    }
}
