import ArgumentParser
import Foundation
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
            help: ArgumentHelp("The .npy file to write, [N, outputs] float32.", valueName: "OUT.npy"))
        var output: String

        @OptionGroup var batch: InferenceBatchOptions
        @OptionGroup var threads: ThreadOptions

        func run() throws {
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
            let outputs = try Evaluation.predict(graph, on: images, batchSize: batch.batchSize)
            try Npy.write(NpyArray(outputs), to: URL(fileURLWithPath: output))
            Output.status("wrote \(output): \(outputs.shape)")
        }
    }
}
