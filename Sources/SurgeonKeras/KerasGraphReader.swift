import SurgeonCore

/// Turns a parsed Keras model config into surgeon graph nodes, looking each layer type up in a
/// `LayerRegistry` by its Keras class name. Nothing from the file is ever executed: a `Lambda`
/// layer, a custom registered class, a nested model, a Keras operation that is not a layer, a
/// shared layer or an unsupported type is refused with an error naming the layer and its type.
struct KerasGraphReader {
    var registry: LayerRegistry
    /// The file, for error messages.
    var path: String
    /// True for files written by Keras 2, whose `hard_sigmoid` differs from Keras 3's.
    var legacy: Bool

    /// The nodes in config order, and the original configs (constructor arguments) by layer name.
    func nodes(of model: KerasModelConfig) throws(KerasError) -> [Node] {
        let names = Set(model.layers.map(\.name))
        var nodes: [Node] = []
        for entry in model.layers {
            try check(entry, known: names)
            let config = try translatedConfig(entry)
            let layer: any Layer
            do {
                layer = try registry.makeLayer(className: entry.className, config: LayerConfig(config))
            } catch let error as RegistryError {
                if case .unknown = error {
                    throw .layer(
                        path: path, layer: entry.name, type: entry.className,
                        message:
                            "surgeon does not support this layer type; supported: "
                            + "\(registry.names.joined(separator: ", "))"
                    )
                }
                throw .layer(path: path, layer: entry.name, type: entry.className, message: "\(error)")
            } catch {
                throw .layer(path: path, layer: entry.name, type: entry.className, message: "\(error)")
            }
            nodes.append(Node(entry.name, layer, inputs: entry.calls.first?.inputs.map(\.layer) ?? []))
        }
        return nodes
    }

    /// Refuses what surgeon cannot load without running code from the file or changing its meaning.
    private func check(_ entry: KerasLayerEntry, known: Set<String>) throws(KerasError) {
        func refuse(_ message: String) -> KerasError {
            .layer(path: path, layer: entry.name, type: entry.className, message: message)
        }
        if let module = entry.module, module.hasPrefix("keras.src.ops") || module.hasPrefix("keras.ops") {
            throw refuse(
                "a Keras operation (\(module)), not a layer; surgeon reads models built from layers (use e.g. "
                    + "layers.Add instead of +)"
            )
        }
        switch entry.className {
        case "Lambda":
            throw refuse("a Lambda layer holds Python code, which surgeon never runs; replace it with built-in layers")
        case "Functional", "Sequential", "Model":
            throw refuse("a nested model; surgeon reads flat models (rebuild it with the nested model's layers inline)")
        default: break
        }
        // A custom Keras class is Python code; it loads only when a Swift layer type is registered
        // under its class name (an extension package's layer), and nothing from the file runs.
        if entry.isCustomClass, registry.type(named: entry.className) == nil {
            let registered = entry.registeredName ?? "\(entry.module ?? "")>\(entry.className)"
            throw refuse(
                "a custom class ('\(registered)') defined in Python, which surgeon never runs; "
                    + "register a Swift layer type named '\(entry.className)' (an extension package, README "
                    + "\"Extending surgeon\") to load it"
            )
        }
        if entry.className != "InputLayer" {
            guard let call = entry.calls.first else {
                throw refuse("it is not connected to the model (no inbound nodes)")
            }
            guard entry.calls.count == 1 else {
                throw refuse(
                    "it is called \(entry.calls.count) times (a shared layer); surgeon supports layers called once")
            }
            guard call.keywordTensors.isEmpty else {
                throw refuse("it receives tensors as keyword arguments (e.g. a mask), which surgeon does not support")
            }
            for input in call.inputs {
                guard known.contains(input.layer) else { throw refuse("it reads the unknown layer '\(input.layer)'") }
                guard input.node == 0, input.tensor == 0 else {
                    throw refuse(
                        "it reads output \(input.tensor) of call \(input.node) of '\(input.layer)'; "
                            + "surgeon supports single-output layers called once")
                }
            }
        }
        if let (key, value) = Self.oversizedInteger(in: .object(entry.config)) {
            throw refuse("attribute '\(key)' is \(value), beyond the largest size surgeon accepts (2^31)")
        }
        if entry.config["data_format"]?.stringValue == "channels_first" {
            throw refuse("data_format 'channels_first' is not supported; surgeon computes in channels_last (NHWC)")
        }
        if legacy, entry.config["activation"]?.stringValue == "hard_sigmoid" || entry.className == "HardSigmoid" {
            throw refuse(
                "Keras 2's hard_sigmoid (clip(0.2x + 0.5, 0, 1)) differs from Keras 3's (relu6(x + 3) / 6); "
                    + "surgeon refuses to change the model's function silently")
        }
    }

    /// The first whole number in a config (outside `seed` and Keras's `shared_object_id`) that
    /// is beyond 2^31: no size of a real layer is, and bounding them keeps every layer's shape
    /// arithmetic from overflowing.
    static func oversizedInteger(in value: ConfigValue, key: String = "config") -> (String, String)? {
        switch value {
        case let .number(d):
            return d == d.rounded() && abs(d) > Double(1 << 31) ? (key, value.description) : nil
        case let .array(items):
            for item in items { if let found = oversizedInteger(in: item, key: key) { return found } }
            return nil
        case let .object(fields):
            for (k, v) in fields.sorted(by: { $0.key < $1.key }) where k != "seed" && k != "shared_object_id" {
                if let found = oversizedInteger(in: v, key: k) { return found }
            }
            return nil
        default:
            return nil
        }
    }

    /// The constructor arguments as the registry's layer types read them: `name` removed and
    /// Keras 2 spellings mapped to Keras 3 ones.
    private func translatedConfig(_ entry: KerasLayerEntry) throws(KerasError) -> [String: ConfigValue] {
        var config = entry.config
        config["name"] = nil
        if entry.className == "InputLayer", config["batch_shape"] == nil {
            if let shape = config["batch_input_shape"] {
                config["batch_shape"] = shape
            } else if case let .array(sample)? = config["shape"] {
                config["batch_shape"] = .array([.null] + sample)
            } else {
                throw .layer(
                    path: path, layer: entry.name, type: entry.className,
                    message: "the InputLayer has no 'batch_shape', 'batch_input_shape' or 'shape'")
            }
            config["batch_input_shape"] = nil
            config["shape"] = nil
        }
        return config
    }
}
