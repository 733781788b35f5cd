import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonKeras

/// Reading the files a command is given, with errors that name them.
enum Inputs {
    static let normalizationKey = "input_normalization"

    /// Loads a model (`.surgeon`, `.keras` or legacy `.h5`) with the built-in layer types.
    static func model(_ path: String) throws(ModelFilesError) -> ModelFile.Contents {
        try ModelFiles.load(contentsOf: URL(fileURLWithPath: path), registry: .standard)
    }

    /// Writes a model as `.keras` when the path says so, else as `.surgeon`; atomically.
    static func save(_ contents: ModelFile.Contents, to path: String) throws(ModelFilesError) {
        try ModelFiles.save(contents, to: URL(fileURLWithPath: path))
    }

    /// Refuses, before any work, an output path surgeon cannot write a model to (`.h5`).
    static func checkModelOutput(_ path: String?, option: String = "--output") throws {
        guard let path else { return }
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        if ext == "h5" || ext == "hdf5" {
            throw ValidationError("\(option) \(path): surgeon writes Keras models as .keras (Keras 3); legacy .h5 is read-only. Use OUT.keras or OUT.surgeon")
        }
    }

    /// The normalisation stored with a model, if any.
    static func storedNormalization(_ contents: ModelFile.Contents) -> InputNormalization? {
        try? contents.metadata[normalizationKey]?.decode(as: InputNormalization.self)
    }

    /// Images from a `.npy` file as float32: integer arrays are divided by 255, then normalised.
    static func images(_ path: String, normalization: InputNormalization) throws -> Tensor {
        let array = try Npy.read(contentsOf: URL(fileURLWithPath: path))
        var tensor = array.floatTensor()
        if array.dtype != .float32, array.dtype != .float64 { tensor.scale(by: 1.0 / 255.0) }
        guard tensor.rank >= 2 else { throw CommandError("\(path): images of shape \(tensor.shape); expected [N, height, width, channels]") }
        return try normalization.apply(to: tensor)
    }

    /// Class labels from a `.npy` file (integers or one-hot rows).
    static func labels(_ path: String) throws -> [Int] {
        let array = try Npy.read(contentsOf: URL(fileURLWithPath: path))
        if array.dtype == .float32 || array.dtype == .float64 || array.shape.count == 2 {
            return try LabeledData.labels(from: array.floatTensor(), source: path)
        }
        do { return try array.integers() } catch { throw CommandError("\(path): \(error)") }
    }

    /// Images and labels together, checked against each other.
    static func labeled(data: String, labels: String, normalization: InputNormalization) throws -> LabeledData {
        let x = try images(data, normalization: normalization)
        let y = try Self.labels(labels)
        do { return try LabeledData(images: x, labels: y) } catch {
            throw CommandError("\(data) and \(labels) do not match: \(error)")
        }
    }
}

/// A command failed on its input; the message says which file or value and why.
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The library's surgeon (the CLI's root command is also named `Surgeon`).
typealias ChannelSurgeon = SurgeonCore.Surgeon
