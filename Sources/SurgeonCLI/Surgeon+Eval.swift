import ArgumentParser
import Foundation
import Layers
import SurgeonCore

extension SurgeonCommand {
    /// `surgeon eval MODEL --data X --labels Y`.
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure a model's accuracy and loss on labelled data.")

        @OptionGroup var input: ModelDataOptions<LabeledFiles>
        @OptionGroup var batch: InferenceBatchOptions
        @OptionGroup var threads: ThreadOptions
        @OptionGroup var out: OutputOptions

        func run() throws {
            threads.apply()
            let loaded = try input.load()
            let result = try Evaluation.evaluate(
                try InferenceForm.prepared(loaded.contents.graph), on: loaded.data, batchSize: batch.batchSize)
            if out.json { try Output.json(result); return }
            print(String(format: "accuracy %.4f  loss %.4f  samples %d", result.accuracy, result.loss, result.samples))
        }
    }
}
