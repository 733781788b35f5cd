import Foundation
import SurgeonCore

/// Every model file format surgeon reads and writes, chosen by extension: `.keras` (Keras 3,
/// read and write), `.h5` / `.hdf5` (legacy Keras, read only), anything else the native
/// `.surgeon` format (which checks its own signature when read).
public enum ModelFiles {
    /// Reads a model in any supported format.
    public static func load(contentsOf url: URL, registry: LayerRegistry) throws(ModelFilesError) -> ModelFile.Contents {
        switch url.pathExtension.lowercased() {
        case "keras", "h5", "hdf5":
            do { return try KerasModelFile.load(contentsOf: url, registry: registry) } catch { throw .keras(error) }
        default:
            do { return try ModelFile.load(contentsOf: url, registry: registry) } catch { throw .native(error) }
        }
    }

    /// Writes a model atomically: `.keras` as Keras 3, `.h5` / `.hdf5` refused before anything is
    /// written, any other name as a native `.surgeon` file.
    public static func save(_ contents: ModelFile.Contents, to url: URL) throws(ModelFilesError) {
        switch url.pathExtension.lowercased() {
        case "keras":
            do { try KerasModelFile.save(contents, to: url) } catch { throw .keras(error) }
        case "h5", "hdf5":
            throw .keras(.write(path: url.path, reason: "surgeon writes Keras models as .keras (Keras 3); legacy .h5 is read-only"))
        default:
            do { try ModelFile.save(contents, to: url) } catch { throw .native(error) }
        }
    }
}

/// A model file could not be read or written, in whichever format.
public enum ModelFilesError: Error, CustomStringConvertible {
    case keras(KerasError)
    case native(ModelFileError)

    public var description: String {
        switch self {
        case let .keras(error): return error.description
        case let .native(error): return error.description
        }
    }
}
