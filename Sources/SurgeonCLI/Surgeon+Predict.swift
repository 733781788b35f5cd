import ArgumentParser
import Foundation
import SurgeonCore
import SurgeonFormats

extension SurgeonCommand {
    /// `surgeon predict MODEL --data X -o OUT.npy`.
    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a model's outputs for every sample to a float32 .npy file.")

        @Argument(help: ArgumentHelp("The model file (.surgeon, .keras or .h5).", valueName: "MODEL"))
        var model: String

        @Option(help: ArgumentHelp("Images as a NumPy .npy file, NHWC.", valueName: "X.npy"))
        var data: String

        @Option(name: .shortAndLong, help: ArgumentHelp("The .npy file to write, [N, outputs] float32.", valueName: "OUT.npy"))
        var output: String

        @Option(help: "Samples per inference batch.") var batchSize = 256
        @OptionGroup var normalization: NormalizationOptions
        @OptionGroup var threads: ThreadOptions

        func validate() throws {
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        }

        func run() throws {
            threads.apply()
            let contents = try Inputs.model(model)
            let norm = try normalization.parsed(stored: (try Inputs.storedNormalization(contents, source: model)))
            let images = try Inputs.images(data, normalization: norm)
            let graph = contents.graph
            guard graph.inputNodeIndices.count == 1 else { throw CommandError("\(model): predict needs a model with one input") }
            let expected = graph.shapes[graph.inputNodeIndices[0]]
            guard Array(images.shape.dropFirst()) == expected else {
                throw CommandError("\(data): samples of shape \(Array(images.shape.dropFirst())), but \(model) takes \(expected)")
            }
            let outputs = try Evaluation.predict(graph, on: images, batchSize: batchSize)
            try Npy.write(NpyArray(outputs), to: URL(fileURLWithPath: output))
            Output.status("wrote \(output): \(outputs.shape)")
        }
    }
}
