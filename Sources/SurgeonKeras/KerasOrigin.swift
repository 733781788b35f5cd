import SurgeonCore

/// What a model read from a Keras file remembers of it, kept in the model's metadata (key
/// `keras`) so that writing it back as `.keras` keeps each layer's original constructor
/// arguments (initialisers, regularisers, `trainable`, ...), also after pruning and after a
/// detour through a `.surgeon` file.
public struct KerasOrigin: Sendable, Equatable {
    /// The metadata key.
    public static let metadataKey = "keras"

    /// A layer's class name and constructor arguments as the file held them.
    public struct LayerEntry: Sendable, Equatable {
        /// The Keras class name (`Conv2D`, ...).
        public var className: String
        /// The constructor arguments, as in the file's config.
        public var config: [String: ConfigValue]
        /// For a custom class (one the user registered in Keras, such as
        /// `"my_package>ChannelGate"`): its `module` and `registered_name`, written back so that
        /// Keras finds the same class again. Nil for Keras's built-in layers.
        public var custom: (module: String?, registeredName: String?)?

        public static func == (a: LayerEntry, b: LayerEntry) -> Bool {
            a.className == b.className && a.config == b.config && a.custom?.module == b.custom?.module
                && a.custom?.registeredName == b.custom?.registeredName
        }
    }

    /// The model's name in the file (written back as the Functional model's name).
    public var modelName: String
    /// The Keras version that wrote the file (`3.15.1`, `2.15.0`, ...), if it said.
    public var kerasVersion: String?
    /// Layers by name. Empty for Keras 2 files: their arguments are Keras 2's, which Keras 3
    /// does not always accept, so a Keras 3 file is written from surgeon's own configs.
    public var layers: [String: LayerEntry]

    init(modelName: String, kerasVersion: String?, layers: [String: LayerEntry]) {
        self.modelName = modelName
        self.kerasVersion = kerasVersion
        self.layers = layers
    }

    /// Reads it back from a model's metadata; nil when absent or malformed.
    public init?(metadata: [String: ConfigValue]) {
        guard case let .object(o)? = metadata[Self.metadataKey], case let .string(name)? = o["model_name"] else {
            return nil
        }
        modelName = name
        kerasVersion = o["keras_version"]?.stringValue
        layers = [:]
        if case let .object(entries)? = o["layers"] {
            for (layer, value) in entries {
                guard case let .object(e) = value, case let .string(c)? = e["class_name"],
                    case let .object(config)? = e["config"]
                else { continue }
                var entry = LayerEntry(className: c, config: config)
                if e["module"] != nil || e["registered_name"] != nil {
                    entry.custom = (e["module"]?.stringValue, e["registered_name"]?.stringValue)
                }
                layers[layer] = entry
            }
        }
    }

    /// The metadata value.
    public var metadataValue: ConfigValue {
        var layerObjects: [String: ConfigValue] = [:]
        for (name, entry) in layers {
            var object: [String: ConfigValue] = [
                "class_name": .string(entry.className), "config": .object(entry.config),
            ]
            if let custom = entry.custom {
                object["module"] = custom.module.map { .string($0) } ?? .null
                object["registered_name"] = custom.registeredName.map { .string($0) } ?? .null
            }
            layerObjects[name] = .object(object)
        }
        return .object([
            "model_name": .string(modelName),
            "keras_version": kerasVersion.map { .string($0) } ?? .null,
            "layers": .object(layerObjects),
        ])
    }
}
