import Foundation
import SurgeonCore
import SurgeonFormats

/// Reading images and labels from NumPy files, and the input normalisation a model keeps in its
/// metadata, with errors that name the file.
public enum DataFiles {
    /// The metadata key of a model's `InputNormalization`.
    public static let normalizationKey = "input_normalization"

    /// The normalisation stored with a model; nil when it has none, an error when the stored
    /// value is not a normalisation (a damaged or hand-edited file must not silently fall back
    /// to [0, 1] scaling).
    public static func storedNormalization(
        _ contents: ModelContents, source: String
    ) throws(PipelineError) -> InputNormalization? {
        guard let value = contents.metadata[normalizationKey] else { return nil }
        do { return try value.decode(as: InputNormalization.self) } catch {
            throw PipelineError(
                "\(source): the stored input normalisation (metadata '\(normalizationKey)') is not "
                    + "{mean: [numbers], std: [numbers]}: \(value)")
        }
    }

    /// Images from a `.npy` file as float32: integer arrays are divided by 255, then normalised.
    public static func images(_ path: String, normalization: InputNormalization) throws -> Tensor {
        let array = try Npy.read(contentsOf: URL(fileURLWithPath: path))
        var tensor = array.floatTensor()
        if array.dtype != .float32, array.dtype != .float64 { tensor.scale(by: 1.0 / 255.0) }
        guard tensor.rank >= 2 else {
            throw PipelineError("\(path): images of shape \(tensor.shape); expected [N, height, width, channels]")
        }
        if let bad = tensor.scalars.firstIndex(where: { !$0.isFinite }) {
            throw PipelineError(
                "\(path): element \(bad) is \(tensor.scalars[bad]); the data must be finite numbers (no NaN or inf)")
        }
        return try normalization.apply(to: tensor)
    }

    /// Class labels from a `.npy` file (integers or one-hot rows).
    public static func labels(_ path: String) throws -> [Int] {
        let array = try Npy.read(contentsOf: URL(fileURLWithPath: path))
        if array.dtype == .float32 || array.dtype == .float64 || array.shape.count == 2 {
            return try LabeledData.labels(from: array.floatTensor(), source: path)
        }
        do { return try array.integers() } catch { throw PipelineError("\(path): \(error)") }
    }

    /// Images and labels together, checked against each other.
    public static func labeled(data: String, labels: String, normalization: InputNormalization) throws -> LabeledData {
        let x = try images(data, normalization: normalization)
        let y = try Self.labels(labels)
        do { return try LabeledData(images: x, labels: y) } catch {
            throw PipelineError("\(data) and \(labels) do not match: \(error)")
        }
    }
}
