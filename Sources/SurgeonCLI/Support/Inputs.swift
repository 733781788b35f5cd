import ArgumentParser
import Foundation
import SurgeonCore
import SurgeonFormats
import SurgeonPipeline

/// Reading the files a command is given, with the running command's registries and errors
/// that name the files.
enum Inputs {
    /// Loads a model in any registered format (`.surgeon`, `.keras`, legacy `.h5`, ...).
    static func model(_ path: String) throws(ModelFormatError) -> ModelContents {
        try Registries.current.loadModel(path)
    }

    /// Writes a model in the format its extension names, atomically.
    static func save(_ contents: ModelContents, to path: String) throws(ModelFormatError) {
        try Registries.current.saveModel(contents, to: path)
    }

    /// Refuses, before any work, an output path surgeon cannot write a model to (`.h5`).
    static func checkModelOutput(_ path: String?, option: String = "--output") throws {
        guard let path else { return }
        if let reason = Registries.current.formats.writeRefusal(for: URL(fileURLWithPath: path)) {
            throw ValidationError("\(option) \(path): \(reason)")
        }
    }

    /// The normalisation stored with a model, if any; a damaged one is an error.
    static func storedNormalization(_ contents: ModelContents, source: String) throws -> InputNormalization? {
        try DataFiles.storedNormalization(contents, source: source)
    }

    /// Images from a `.npy` file as float32: integer arrays are divided by 255, then normalised.
    static func images(_ path: String, normalization: InputNormalization) throws -> Tensor {
        try DataFiles.images(path, normalization: normalization)
    }

    /// Images and labels together, checked against each other.
    static func labeled(data: String, labels: String, normalization: InputNormalization) throws -> LabeledData {
        try DataFiles.labeled(data: data, labels: labels, normalization: normalization)
    }
}

/// A command failed on its input; the message says which file or value and why.
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
