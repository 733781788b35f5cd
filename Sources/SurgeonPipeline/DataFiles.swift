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

    /// Images from a `.npy` file as float32: integer arrays are divided by 255, transposed from
    /// the model's own `layout` to NHWC, then normalised. The float copy is checked against the
    /// memory budget before it is made.
    public static func images(
        _ path: String, normalization: InputNormalization, layout: DataLayout = .channelsLast,
        budget: MemoryBudget = .standard
    ) throws -> Tensor {
        try images(
            Npy.read(contentsOf: URL(fileURLWithPath: path)), path: path, normalization: normalization,
            layout: layout, budget: budget)
    }

    private static func images(
        _ array: NpyArray, path: String, normalization: InputNormalization, layout: DataLayout, budget: MemoryBudget
    ) throws -> Tensor {
        guard array.shape.count >= 2 else {
            throw PipelineError("\(path): images of shape \(array.shape); expected [N, height, width, channels]")
        }
        do {
            try budget.check(
                count: array.count, itemBytes: MemoryLayout<Float>.size,
                for: "\(path): the \(array.shape[0]) images of shape \(Array(array.shape.dropFirst())) as float32")
        } catch { throw PipelineError(error.description) }
        var tensor = array.floatTensor()
        if array.dtype != .float32, array.dtype != .float64 { tensor.scale(by: 1.0 / 255.0) }
        if let bad = tensor.scalars.firstIndex(where: { !$0.isFinite }) {
            throw PipelineError(
                "\(path): element \(bad) is \(tensor.scalars[bad]); the data must be finite numbers (no NaN or inf)")
        }
        return try normalization.apply(to: layout.toInternal(tensor))
    }

    /// Class labels from a `.npy` file (integers or one-hot rows).
    public static func labels(_ path: String) throws -> [Int] {
        try labels(Npy.read(contentsOf: URL(fileURLWithPath: path)), path: path)
    }

    private static func labels(_ array: NpyArray, path: String) throws -> [Int] {
        if array.dtype == .float32 || array.dtype == .float64 || array.shape.count == 2 {
            return try LabeledData.labels(from: array.floatTensor(), source: path)
        }
        do { return try array.integers() } catch { throw PipelineError("\(path): \(error)") }
    }

    /// Images and labels together, checked against each other: both files are decoded and their
    /// sample counts compared before either is converted.
    public static func labeled(
        data: String, labels: String, normalization: InputNormalization, layout: DataLayout = .channelsLast,
        budget: MemoryBudget = .standard
    ) throws -> LabeledData {
        let imageArray = try Npy.read(contentsOf: URL(fileURLWithPath: data))
        let labelArray = try Npy.read(contentsOf: URL(fileURLWithPath: labels))
        if let samples = imageArray.shape.first, let count = labelArray.shape.first, samples != count {
            throw PipelineError(
                "\(data) and \(labels) do not match: \(DataError.countMismatch(samples: samples, labels: count))")
        }
        let y = try Self.labels(labelArray, path: labels)
        let x = try images(imageArray, path: data, normalization: normalization, layout: layout, budget: budget)
        do { return try LabeledData(images: x, labels: y) } catch {
            throw PipelineError("\(data) and \(labels) do not match: \(error)")
        }
    }
}
