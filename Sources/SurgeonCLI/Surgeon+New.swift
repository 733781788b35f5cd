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
            discussion: "Architectures:\n" + Registries.current.architectures.names.map { name in
                let a = try? Registries.current.architectures.architecture(named: name)
                return "  \(name): \(a?.summary ?? "")"
            }.joined(separator: "\n"))

        @Argument(help: ArgumentHelp("The architecture: \(Registries.current.architectures.names.joined(separator: ", ")).", valueName: "ARCH"))
        var architecture: String

        @Option(help: ArgumentHelp("The input shape, height,width,channels.", valueName: "H,W,C"))
        var inputShape: String

        @Option(help: "The number of classes.")
        var classes: Int

        @Option(help: "The width multiplier (scales every layer's channels).")
        var width: Double = 1.0

        @Option(help: "The seed of the initial weights.")
        var seed: UInt64 = 0

        @Option(name: .shortAndLong, help: ArgumentHelp("The model file to write (.surgeon or .keras).", valueName: "OUT"))
        var output: String

        @OptionGroup var out: OutputOptions

        func validate() throws {
            guard Registries.current.architectures.names.contains(architecture) else {
                throw ValidationError("unknown architecture '\(architecture)'; choose one of: \(Registries.current.architectures.names.joined(separator: ", "))")
            }
            _ = try shape()
            try Inputs.checkModelOutput(output)
        }

        func shape() throws -> Shape {
            let parts = inputShape.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 3, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError("--input-shape takes three positive integers height,width,channels, got '\(inputShape)'")
            }
            return parts.map { $0! }
        }

        func run() throws {
            let arch = try Registries.current.architectures.architecture(named: architecture)
            let graph = try arch.build(ArchitectureOptions(inputShape: try shape(), classes: classes, width: width, seed: seed))
            try Inputs.save(ModelContents(graph: graph), to: output)
            let summary = ModelSummary(graph)
            if out.json { try Output.json(summary) } else {
                print("wrote \(output): \(architecture), \(Output.grouped(summary.params)) parameters, \(Output.grouped(summary.macs)) MACs per sample")
            }
        }
    }
}
