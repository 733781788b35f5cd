import ArgumentParser
import Foundation
import SurgeonCore
import SurgeonFormats
import SurgeonPipeline

/// Reading and writing the model files a command is given, with the running command's
/// registries and errors that name the files.
enum Inputs {
    /// Loads a model in any registered format (`.surgeon`, `.keras`, legacy `.h5`, ...).
    static func model(_ path: String) throws(ModelFormatError) -> ModelContents {
        try Registries.current.loadModel(path)
    }

    /// Writes a model in the format its extension names, atomically; `-` writes a native
    /// `.surgeon` model to standard output.
    static func save(_ contents: ModelContents, to path: String) throws {
        guard OutputPath.isStandardOutput(path) else { return try Registries.current.saveModel(contents, to: path) }
        try OutputPath.write(ModelFile.encode(contents), to: path)
    }

    /// Refuses, at the start of a command's work, a model destination that cannot be written
    /// (see `OutputPath.check`).
    static func checkModelDestination(_ path: String?) throws {
        guard let path else { return }
        try OutputPath.check(path, binary: "a .surgeon model")
    }

    /// The help of a model output option: "The NOUN to write (.surgeon or .keras). A symbolic ...".
    static func modelOutputHelp(_ noun: String) -> String {
        "The \(noun) to write (\(writableFormats)). "
            + OutputPath.help(standardOutput: "a .surgeon model", note: "refused when that is a terminal")
    }

    /// Refuses, before any work, an output path surgeon cannot write a model to: a read-only
    /// format (`.h5`) and, with `knownExtension` (`convert`, which picks the format by the
    /// extension), an extension no writable format claims. Other commands write such a path
    /// as a `.surgeon` file, and so does `-` (standard output).
    static func checkModelOutput(
        _ path: String?, option: String = "--output", knownExtension: Bool = false
    ) throws(ValidationError) {
        guard let path, !OutputPath.isStandardOutput(path) else { return }
        let url = URL(fileURLWithPath: path)
        if let reason = Registries.current.formats.writeRefusal(for: url) {
            throw ValidationError("\(option) \(path): \(reason)")
        }
        if knownExtension, !writableExtensions.contains(url.pathExtension.lowercased()) {
            throw ValidationError("\(option) \(path): give a \(list(writableExtensions)) path")
        }
    }

    /// The extensions of every registered format, in registration order, for help texts:
    /// ".surgeon, .keras, .h5 or .hdf5".
    static var readableFormats: String { list(Registries.current.formats.all.flatMap(\.extensions)) }

    /// The extensions of the formats surgeon writes: ".surgeon or .keras".
    static var writableFormats: String { list(writableExtensions) }

    private static var writableExtensions: [String] {
        Registries.current.formats.all.filter { $0.writeRefusal == nil }.flatMap(\.extensions)
    }

    /// ".a, .b or .c".
    private static func list(_ extensions: [String]) -> String {
        let dotted = extensions.map { "." + $0 }
        guard let last = dotted.last else { return "" }
        return dotted.count == 1 ? last : dotted.dropLast().joined(separator: ", ") + " or " + last
    }
}

/// A command failed on its input; the message says which file or value and why.
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
