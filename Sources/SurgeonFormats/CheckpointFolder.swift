import Foundation
import SurgeonCore

/// The trainer's checkpoints as native model files in one folder: `DIR/best.surgeon` and
/// `DIR/last.surgeon`, each written atomically (a temporary file renamed into place).
public struct CheckpointFolder: CheckpointStore {
    public var directory: URL
    /// The layer types for reading a checkpoint back when resuming.
    public var registry: LayerRegistry

    public init(directory: URL, registry: LayerRegistry) {
        self.directory = directory
        self.registry = registry
    }

    func url(_ name: String) -> URL { directory.appendingPathComponent("\(name).surgeon") }

    public func save(_ contents: ModelContents, as name: String) throws {
        try ModelFile.save(contents, to: url(name))
    }

    public func load(_ name: String) throws -> ModelContents? {
        let url = url(name)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try ModelFile.load(contentsOf: url, registry: registry)
    }

    public func location(of name: String) -> String { url(name).path }
}
