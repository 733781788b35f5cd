import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonPipeline

extension SurgeonCommand {
    /// `surgeon convert IN OUT`: between `.keras`, legacy `.h5` (read only), `.onnx` and `.surgeon`.
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a model between .keras (Keras 3), legacy Keras .h5 (read only), .onnx and .surgeon.",
            discussion: """
                The format is chosen by extension. Reading a Keras file never runs code from it: a Lambda layer, \
                a custom class or a nested model is refused with the layer's name. A .keras file written by \
                surgeon loads in Keras 3 with keras.saving.load_model; the original layer arguments \
                (initialisers, regularisers, ...) are kept, and a .surgeon file keeps them for a later conversion.
                """)

        @Argument(help: ArgumentHelp("The model to read (\(Inputs.readableFormats)).", valueName: "IN"))
        var input: String

        @Argument(help: ArgumentHelp(Inputs.modelOutputHelp("model"), valueName: "OUT"))
        var output: String

        @Flag(
            name: .customLong("add-batchnorm"),
            help: ArgumentHelp(
                "Give back the BatchNorms an exporter folded away: an identity-initialised BatchNormalization after "
                    + "every convolution no BatchNorm follows (outputs unchanged), so that l1-gamma sparse training and "
                    + "the bn-gamma criterion work on the model. They are written as nodes in .onnx (--fold-batchnorm folds "
                    + "them back)."))
        var addBatchNorm = false

        @Flag(
            name: .customLong("fold-batchnorm"),
            help: ArgumentHelp(
                "Fold every BatchNormalization that follows a linear Conv2D, DepthwiseConv2D or Dense (its only reader) "
                    + "into that layer's kernel and bias, as torch's ONNX export does: fewer nodes for inference, the "
                    + "same outputs up to float rounding. For a model whose training is done."))
        var foldBatchNorm = false

        @OptionGroup var out: OutputOptions

        func validate() throws {
            try Inputs.checkModelOutput(output, option: "OUT", knownExtension: true)
            try OutputPath.refuseWithJSON(output, option: "OUT", json: out.json)
            if addBatchNorm && foldBatchNorm {
                throw ValidationError("--add-batchnorm and --fold-batchnorm undo each other; give one of them")
            }
        }

        func run() throws {
            try Inputs.checkModelDestination(output)
            var contents = try Inputs.model(input)
            var added: [String]?
            if addBatchNorm {
                let result = try BatchNormInsertion.inserting(into: contents.graph)
                contents.graph = result.graph
                added = result.added
            }
            var folded: [String]?
            if foldBatchNorm {
                let result = try BatchNormFolding.folding(contents.graph)
                contents.graph = result.graph
                folded = result.folded
            }
            try Inputs.save(contents, to: output)
            let summary = ModelSummary(contents.graph)
            if out.json {
                try Output.json(
                    ConvertReport(
                        input: input, output: output, layers: summary.layers.count, params: summary.params,
                        macs: summary.macs, batchNormsAdded: added?.count, batchNormsFolded: folded?.count))
            } else {
                OutputPath.say(
                    "wrote \(OutputPath.name(output)): \(summary.layers.count) layers, \(Output.grouped(summary.params)) parameters, "
                        + "\(Output.grouped(summary.macs)) MACs per sample"
                        + (added.map { ", \($0.count) BatchNorm layer(s) added" } ?? "")
                        + (folded.map { ", \($0.count) BatchNorm layer(s) folded" } ?? ""), besides: output)
            }
        }
    }
}

/// The `--json` output of `convert`.
struct ConvertReport: Codable {
    var input: String
    var output: String
    var layers: Int
    var params: Int
    var macs: Int
    /// With `--add-batchnorm`: how many BatchNorm layers were added.
    var batchNormsAdded: Int?
    /// With `--fold-batchnorm`: how many BatchNorm layers were folded.
    var batchNormsFolded: Int?
}
