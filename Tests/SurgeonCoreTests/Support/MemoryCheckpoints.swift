import SurgeonCore
import Synchronization

/// A `CheckpointStore` that keeps the trainer's checkpoints in memory: the core's checkpoint
/// and resume logic tested without any file format (`CheckpointFolder`, which writes files, is
/// tested in SurgeonFormatsTests).
final class MemoryCheckpoints: CheckpointStore {
    private let stored = Mutex<[String: ModelContents]>([:])
    private let log = Mutex<[String]>([])

    init() {}

    func save(_ contents: ModelContents, as name: String) throws {
        stored.withLock { $0[name] = contents }
        log.withLock { $0.append(name) }
    }

    func load(_ name: String) throws -> ModelContents? { stored.withLock { $0[name] } }

    func location(of name: String) -> String { "memory:\(name)" }

    /// The names saved so far, in order (one entry per save).
    var saves: [String] { log.withLock { $0 } }

    /// Replaces a checkpoint directly, as a damaged or foreign store would hold it.
    func put(_ contents: ModelContents, as name: String) { stored.withLock { $0[name] = contents } }
}
