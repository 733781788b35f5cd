import Foundation
import SurgeonCore
import SurgeonFormats

/// Keras 3 `.keras` archives, read and written.
public struct KerasArchiveFormat: ModelFormat {
    public init() {}
    public var name: String { "Keras 3" }
    public var extensions: [String] { ["keras"] }

    public func read(contentsOf url: URL, registry: LayerRegistry) throws -> ModelContents {
        try KerasModelFile.load(contentsOf: url, registry: registry)
    }

    public func write(_ contents: ModelContents, to url: URL) throws {
        try KerasModelFile.save(contents, to: url)
    }
}

/// Legacy Keras 2 / tf.keras `.h5` (and `.hdf5`) files, read only.
public struct KerasLegacyFormat: ModelFormat {
    public init() {}
    public var name: String { "legacy Keras" }
    public var extensions: [String] { ["h5", "hdf5"] }
    public var writeRefusal: String? {
        "surgeon writes Keras models as .keras (Keras 3); legacy .h5 is read-only. Use OUT.keras or OUT.surgeon"
    }

    public func read(contentsOf url: URL, registry: LayerRegistry) throws -> ModelContents {
        try KerasModelFile.load(contentsOf: url, registry: registry)
    }

    public func write(_ contents: ModelContents, to url: URL) throws {
        throw KerasError.write(path: url.path, reason: writeRefusal ?? "")
    }
}

extension ModelFormatRegistry {
    /// Adds `.keras` (read and write) and `.h5` / `.hdf5` (read only).
    public mutating func registerKeras() throws(RegistryError) {
        try register(KerasArchiveFormat())
        try register(KerasLegacyFormat())
    }
}
