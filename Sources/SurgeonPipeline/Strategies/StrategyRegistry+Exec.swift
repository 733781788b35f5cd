import Foundation
import SurgeonCore
import SurgeonFormats
import SurgeonStrategies

/// Writes the `exec` criterion's arrays as a NumPy `.npz` archive (uncompressed, float32),
/// which `numpy.load` reads.
public struct NpzArchiveWriter: ArrayArchiveWriter {
    public init() {}
    public var fileExtension: String { "npz" }

    public func write(_ arrays: [(name: String, tensor: Tensor)], to url: URL) throws {
        try Npz.write(arrays.map { ($0.name, NpyArray($0.tensor)) }, to: url)
    }
}

extension StrategyRegistry {
    /// Registers the `exec:COMMAND` criterion, its weights and activations written as `.npz`.
    public mutating func registerExec() throws(RegistryError) {
        try register(ExecCriterion.entry(arrays: NpzArchiveWriter()))
    }

    /// `standard` and the `exec:COMMAND` criterion: what `Registries` starts from.
    public static let standardWithExec: StrategyRegistry = {
        var registry = StrategyRegistry.standard
        do { try registry.registerExec() } catch {
            // Only a programming error gets here: no built-in criterion is named exec.
            preconditionFailure("the exec criterion: \(error)")
        }
        return registry
    }()
}
