import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonFormats

extension SurgeonCommand {
    /// `surgeon predict MODEL --data X -o OUT.npy`.
    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a model's outputs for every sample to a float32 .npy file.")

        @OptionGroup var input: ModelDataOptions<ImageFile>

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp(
                "The .npy file to write, [N, outputs] float32. "
                    + OutputPath.help(standardOutput: "the .npy bytes", note: "refused when that is a terminal"),
                valueName: "OUT.npy"))
        var output: String

        @OptionGroup var batch: InferenceBatchOptions
        @OptionGroup var threads: ThreadOptions

        func run() throws {
            try OutputPath.check(output, binary: "an .npy array")
            threads.apply()
            let loaded = try input.load()
            let (graph, images, model) = (loaded.contents.graph, loaded.data, input.model.path)
            guard graph.inputNodeIndices.count == 1 else {
                throw CommandError("\(model): predict needs a model with one input")
            }
            let expected = graph.shapes[graph.inputNodeIndices[0]]
            guard Array(images.shape.dropFirst()) == expected else {
                throw CommandError(
                    "\(input.files.data): samples of shape \(Array(images.shape.dropFirst())), but \(model) takes "
                        + "\(expected)"
                )
            }
            let outputs = try Evaluation.predict(
                try InferenceForm.prepared(graph), on: images, batchSize: batch.batchSize)
            // An image output goes back in the model's own layout, as its runtime would return it.
            try OutputPath.write(Npy.encode(NpyArray(loaded.layout.toFile(outputs))), to: output)
            Output.status("wrote \(OutputPath.name(output)): \(outputs.shape)")
        }
    }
}
