/// The layer types surgeon knows, keyed by Keras class name: one registration covers reading a
/// model file (readers look the stored class name up here), computing (the type's `forward` and
/// `backward`), surgery (a type adopting `SurgeryRule` is prunable) and every generic checker
/// (which iterate the registered types' `examples`).
///
/// A registry is a value: start from the built-in one (`LayerRegistry.standard` in the `Layers`
/// module) and register your own types on a copy, without editing the project.
public struct LayerRegistry: Sendable {
    private var types: [String: any Layer.Type] = [:]

    public init() {}

    /// Adds a type; a second type with the same Keras class name is an error.
    public mutating func register(_ type: any Layer.Type) throws(RegistryError) {
        let name = type.kerasClassName
        guard types[name] == nil else { throw RegistryError.duplicate(kind: "layer type", name: name) }
        types[name] = type
    }

    /// Adds several types, in order; the first duplicate name stops with an error.
    public mutating func register(_ types: [any Layer.Type]) throws(RegistryError) {
        for type in types { try register(type) }
    }

    /// The type registered under `name`, if any.
    public func type(named name: String) -> (any Layer.Type)? { types[name] }

    /// The registered class names, sorted.
    public var names: [String] { types.keys.sorted() }

    /// The registered types, sorted by class name.
    public var registeredTypes: [any Layer.Type] { names.compactMap { types[$0] } }

    /// True when `className` is registered and its type adopts `SurgeryRule`.
    public func hasSurgeryRule(_ className: String) -> Bool { (types[className] as? any SurgeryRule.Type) != nil }

    /// The class names whose types adopt `SurgeryRule`, sorted.
    public var surgeryRuleNames: [String] { names.filter(hasSurgeryRule) }

    /// Creates a layer of the named type from its configuration.
    public func makeLayer(className: String, config: LayerConfig) throws -> any Layer {
        guard let type = types[className] else {
            throw RegistryError.unknown(kind: "layer type", name: className, accepted: names)
        }
        return try type.init(config: config)
    }
}

/// A registry lookup or registration failed.
public enum RegistryError: Error, Equatable, CustomStringConvertible {
    case duplicate(kind: String, name: String)
    case unknown(kind: String, name: String, accepted: [String])

    public var description: String {
        switch self {
        case let .duplicate(kind, name):
            return "a \(kind) named '\(name)' is already registered"
        case let .unknown(kind, name, accepted):
            return "unknown \(kind) '\(name)'; supported: \(accepted.joined(separator: ", "))"
        }
    }
}
