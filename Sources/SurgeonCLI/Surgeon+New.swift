import ArgumentParser
import Foundation
import SurgeonCore
import SurgeonPipeline
import SurgeonStrategies

extension SurgeonCommand {
    /// `surgeon new ARCH`: a freshly initialised model.
    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a model from a built-in architecture.",
            discussion: "Architectures:\n"
                + Registries.current.architectures.names.map { name in
                    let a = try? Registries.current.architectures.architecture(named: name)
                    return "  \(name): \(a?.summary ?? "")"
                }.joined(separator: "\n"))

        @Argument(
            help: ArgumentHelp(
                "The architecture: \(Registries.current.architectures.names.joined(separator: ", ")).",
                valueName: "ARCH"))
        var architecture: String

        @Option(help: ArgumentHelp("The input shape, height,width,channels.", valueName: "H,W,C"))
        var inputShape: String

        @Option(help: "The number of classes.")
        var classes: Int

        @Option(help: "The width multiplier (scales every layer's channels).")
        var width: Double = 1.0

        @Option(help: "The seed of the initial weights.")
        var seed: UInt64 = 0

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp(Inputs.modelOutputHelp("model file"), valueName: "OUT"))
        var output: String

        @OptionGroup var out: OutputOptions

        func validate() throws {
            guard Registries.current.architectures.names.contains(architecture) else {
                throw ValidationError(
                    "unknown architecture '\(architecture)'; choose one of: "
                        + "\(Registries.current.architectures.names.joined(separator: ", "))"
                )
            }
            let options = try options()
            do { try options.validate(for: architecture) } catch { throw ValidationError("\(error)") }
            try Inputs.checkModelOutput(output)
            try OutputPath.refuseWithJSON(output, option: "--output", json: out.json)
        }

        func options() throws(ValidationError) -> ArchitectureOptions {
            let shape: Shape = try CommaList.parse(
                inputShape, option: "--input-shape",
                takes: "three positive integers height,width,channels", count: 3
            ) { $0 > 0 }
            return ArchitectureOptions(inputShape: shape, classes: classes, width: width, seed: seed)
        }

        func run() throws {
            try Inputs.checkModelDestination(output)
            let arch = try Registries.current.architectures.architecture(named: architecture)
            let graph = try arch.build(try options())
            try Inputs.save(ModelContents(graph: graph), to: output)
            let summary = ModelSummary(graph)
            if out.json {
                try Output.json(summary)
            } else {
                OutputPath.say(
                    "wrote \(OutputPath.name(output)): \(architecture), \(Output.grouped(summary.params)) parameters, "
                        + "\(Output.grouped(summary.macs)) MACs per sample", besides: output)
            }
        }
    }
}
