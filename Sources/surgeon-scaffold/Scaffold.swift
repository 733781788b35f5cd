import ArgumentParser
import Foundation

/// `surgeon-scaffold`: writes the files of a new layer type (`layer`, through the
/// `new-layer-rule` package plugin) or of a whole extension package that builds its own
/// `surgeon` (`package`).
@main
struct Scaffold: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "surgeon-scaffold",
        abstract: "Generate a new layer type with its surgery rule and test, or a package that extends surgeon.",
        subcommands: [NewLayer.self, NewPackage.self],
        defaultSubcommand: NewLayer.self)

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        /// Output channel i is input channel i; one learned value per channel (`identity` map).
        case perChannel = "per-channel"
        /// New output channels from all input channels, like a 1x1 convolution (`fresh` map).
        case projection
    }

    /// Refuses a name that is not an UpperCamelCase Swift identifier.
    static func checkTypeName(_ name: String, option: String = "--name") throws {
        guard let first = name.first, first.isUppercase, name.allSatisfy({ $0.isLetter || $0.isNumber }) else {
            throw ValidationError(
                "\(option) must be an UpperCamelCase Swift identifier such as ChannelScale, got '\(name)'")
        }
    }

    /// Writes `files`, refusing (before writing any) when one exists already.
    static func write(_ files: [(URL, String)]) throws {
        for (url, _) in files where FileManager.default.fileExists(atPath: url.path) {
            throw ValidationError("\(url.path) already exists; choose another name or remove it")
        }
        for (url, text) in files {
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url, options: .withoutOverwriting)
            print("created \(url.path)")
        }
    }
}

extension Scaffold {
    /// `surgeon-scaffold layer` (the default): a built-in layer type's file and its test.
    struct NewLayer: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "layer",
            abstract: "Generate Sources/Layers/NAME.swift (layer + surgery rule + examples) and its test.")

        @Option(help: "The Swift type and Keras class name, e.g. ChannelScale.") var name: String
        @Option(
            help: ArgumentHelp(
                "per-channel (identity channel map, weights [channels]) or projection (fresh channel map, kernel [in, "
                    + "units])."))
        var kind: Kind = .perChannel
        @Option(help: "The package folder.") var packageDirectory = "."

        func validate() throws { try Scaffold.checkTypeName(name) }

        func run() throws {
            let root = URL(fileURLWithPath: packageDirectory)
            try Scaffold.write([
                (
                    root.appendingPathComponent("Sources/Layers/\(name).swift"),
                    LayerTemplate.source(name: name, kind: kind)
                ),
                (root.appendingPathComponent("Tests/LayersTests/\(name)Tests.swift"), LayerTemplate.test(name: name)),
            ])
            print(
                """
                next:
                  1. write the layer's math in forward and backward (and its attributes in init(config:) and config),
                     and its samples in `examples`;
                  2. swift test --filter \(name)Tests   (gradient check + the generic surgery checker on every example);
                  3. to ship it as a built-in type, add \(name).self to LayerRegistry.builtinTypes
                     (Sources/Layers/LayerRegistry+Standard.swift): that one line is all; the registry tests, the
                     checkers, `surgeon rules`, the random graphs and the model readers find it there.
                     To extend surgeon without editing it, generate a package instead: surgeon-scaffold package --help.
                """)
        }
    }

    /// `surgeon-scaffold package`: a Swift package that builds its own `surgeon` with an extra
    /// layer type, criterion and architecture.
    struct NewPackage: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "package",
            abstract:
                "Generate a Swift package that builds its own surgeon with an extra layer type, criterion and "
                + "architecture.",
            discussion: """
                The package depends on surgeon (by --surgeon-path, a checkout), registers a ChannelGate layer type, a \
                max-abs criterion, a min policy, an l2-scale regulariser and a gated-net architecture on copies of \
                surgeon's registries, and has tests that run surgeon's generic checkers on them. `swift build` gives \
                .build/debug/EXECUTABLE: every surgeon command, \
                with the extensions in --help, `rules`, `strategies`, recipes and model reading.
                """)

        @Option(help: "The Swift module of the extensions, e.g. GatedSurgeon.") var name: String
        @Option(help: "The folder to create the package in.") var output: String
        @Option(help: "The surgeon checkout the package depends on (a path).") var surgeonPath: String
        @Option(help: "The executable's name (default: NAME in kebab-case, e.g. gated-surgeon).") var executable:
            String?

        func validate() throws {
            try Scaffold.checkTypeName(name)
            if name == "ChannelGate" {
                throw ValidationError("--name must differ from the generated layer type, ChannelGate")
            }
            if let executable,
                executable.isEmpty || !executable.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" })
            {
                throw ValidationError("--executable must be lower-case letters, digits and '-', got '\(executable)'")
            }
        }

        func run() throws {
            let root = URL(fileURLWithPath: output)
            let surgeon = URL(fileURLWithPath: surgeonPath).standardizedFileURL
            guard FileManager.default.fileExists(atPath: surgeon.appendingPathComponent("Package.swift").path) else {
                throw ValidationError(
                    "--surgeon-path \(surgeonPath) holds no Package.swift; give the folder of a surgeon checkout")
            }
            let template = PackageTemplate(
                module: name, executable: executable ?? PackageTemplate.kebab(name), surgeonPath: surgeon.path)
            try Scaffold.write(template.files.map { (root.appendingPathComponent($0.path), $0.text) })
            print(
                """
                next:
                  cd \(root.path) && swift build && swift test
                  .build/debug/\(template.executable) rules        # ChannelGate is listed
                  .build/debug/\(template.executable) strategies   # max-abs is listed
                  .build/debug/\(template.executable) new gated-net --input-shape 28,28,1 --classes 10 -o gated.keras
                """)
        }
    }
}
