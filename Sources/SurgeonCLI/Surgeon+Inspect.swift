import ArgumentParser
import Foundation
import SurgeonCore
import SurgeonPipeline

/// Sizes and costs of a model, for `inspect` and `--json` outputs.
struct ModelSummary: Codable {
    struct Layer: Codable {
        var name: String
        var type: String
        var inputs: [String]
        var output_shape: [Int]
        var params: Int
        var macs: Int
    }

    var layers: [Layer]
    var params: Int
    var trainable_params: Int
    var macs: Int

    init(_ graph: Graph) {
        layers = zip(graph.costs, graph.nodes).map {
            Layer(
                name: $0.name, type: $0.type, inputs: $1.inputs, output_shape: $0.outputShape, params: $0.params,
                macs: $0.macs)
        }
        params = graph.parameterCount
        trainable_params = graph.trainableParameterCount
        macs = graph.macCount
    }
}

extension SurgeonCommand {
    /// `surgeon inspect MODEL`: the per-layer table and totals.
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show every layer of a model: type, output shape, parameters and MACs per sample.")

        @OptionGroup var model: ModelArgument

        @OptionGroup var out: OutputOptions

        func run() throws {
            let summary = ModelSummary(try model.load().graph)
            if out.json { try Output.json(summary); return }
            let rows = summary.layers.map { l in
                [
                    l.name, l.type, "(\(l.output_shape.map(String.init).joined(separator: ", ")))",
                    Output.grouped(l.params), Output.grouped(l.macs),
                ]
            }
            print(Output.table(["layer", "type", "output", "params", "MACs"], rows, rightAligned: [3, 4]))
            print(
                "\ntotal: \(Output.grouped(summary.params)) parameters (\(Output.grouped(summary.trainable_params)) "
                    + "trainable), \(Output.grouped(summary.macs)) MACs per sample"
            )
        }
    }
}
