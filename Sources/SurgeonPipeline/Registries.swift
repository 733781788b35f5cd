import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonStrategies

/// Everything surgeon can be extended with, in one value: layer types (with their surgery
/// rules), strategies (criteria, policies, regularisers), architectures and model file formats.
/// Commands, recipes and the pipeline read only this value, so a program that builds its own
/// `Registries` (see `SurgeonCLI`) has its types in `--help`, `surgeon rules`, `surgeon
/// strategies`, recipes and model reading without editing surgeon.
public struct Registries: Sendable {
    public var layers: LayerRegistry
    public var strategies: StrategyRegistry
    public var architectures: ArchitectureRegistry
    public var formats: ModelFormatRegistry

    /// The built-in layer types, strategies (with `exec:COMMAND`) and architectures, and the
    /// formats given (the native `.surgeon` format alone by default; `SurgeonCLI`'s
    /// `Registries.standard` adds Keras).
    public init(
        layers: LayerRegistry = .standard, strategies: StrategyRegistry = .standardWithExec,
        architectures: ArchitectureRegistry = .standard, formats: ModelFormatRegistry = ModelFormatRegistry()
    ) {
        self.layers = layers
        self.strategies = strategies
        self.architectures = architectures
        self.formats = formats
    }

    /// A surgeon that knows these layer types.
    public var surgeon: Surgeon { Surgeon(registry: layers) }

    /// Reads a model in whichever registered format its extension names.
    public func loadModel(_ path: String) throws(ModelFormatError) -> ModelContents {
        try formats.load(contentsOf: URL(fileURLWithPath: path), registry: layers)
    }

    /// Writes a model in whichever registered format its extension names, atomically.
    public func saveModel(_ contents: ModelContents, to path: String) throws(ModelFormatError) {
        try formats.save(contents, to: URL(fileURLWithPath: path))
    }
}
