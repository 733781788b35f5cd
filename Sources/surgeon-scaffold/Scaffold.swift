import ArgumentParser
import Foundation

/// `surgeon-scaffold`: writes a new layer type's file (layer + surgery rule) and its test,
/// wired to the gradient checker and the generic surgery checker. Run through the package
/// plugin: `swift package --allow-writing-to-package-directory new-layer-rule --name MyLayer`.
@main
struct Scaffold: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "surgeon-scaffold",
        abstract: "Generate the files for a new layer type with its surgery rule and conformance test.")

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        /// Output channel i is input channel i; one learned value per channel (`identity` map).
        case perChannel = "per-channel"
        /// New output channels from all input channels, like a 1x1 convolution (`fresh` map).
        case projection
    }

    @Option(help: "The Swift type and Keras class name, e.g. ChannelScale.") var name: String
    @Option(help: "per-channel (identity channel map, weights [channels]) or projection (fresh channel map, kernel [in, units]).")
    var kind: Kind = .perChannel
    @Option(help: "The package folder.") var packageDirectory = "."

    func validate() throws {
        guard let first = name.first, first.isUppercase, name.allSatisfy({ $0.isLetter || $0.isNumber }) else {
            throw ValidationError("--name must be an UpperCamelCase Swift identifier such as ChannelScale, got '\(name)'")
        }
    }

    func run() throws {
        let root = URL(fileURLWithPath: packageDirectory)
        let files = [
            (root.appendingPathComponent("Sources/Layers/\(name).swift"), LayerTemplate.source(name: name, kind: kind)),
            (root.appendingPathComponent("Tests/LayersTests/\(name)Tests.swift"), LayerTemplate.test(name: name, kind: kind)),
        ]
        for (url, _) in files where FileManager.default.fileExists(atPath: url.path) {
            throw ValidationError("\(url.path) already exists; choose another name or remove it")
        }
        for (url, text) in files {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url, options: .withoutOverwriting)
            print("created \(url.path)")
        }
        print("""
        next:
          1. write the layer's math in forward and backward (and its attributes in init(config:) and config);
          2. swift test --filter \(name)Tests   (gradient check + the generic surgery checker);
          3. to ship it as a built-in type: add \(name).self to LayerRegistry.builtinTypes
             (Sources/Layers/LayerRegistry+Standard.swift), a sample config to LayerRegistryTests.samples and a
             case to SurgeryRuleConformanceTests.cases; the registry tests name anything missing.
             In your own package instead, register it on copies: LayerRegistry.standard and SurgeryRegistry.standard.
        """)
    }
}
