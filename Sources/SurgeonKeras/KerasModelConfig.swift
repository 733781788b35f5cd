import SurgeonCore

/// A reference to a tensor in a Keras config: `[layer name, node index, tensor index]`.
struct KerasTensorRef: Equatable, Hashable, Sendable {
    var layer: String
    var node: Int
    var tensor: Int
}

/// One layer entry of a Functional or Sequential model config, as Keras wrote it.
struct KerasLayerEntry: Sendable {
    /// The name used for wiring (the entry's `name`, else `config.name`).
    var name: String
    var className: String
    /// The Python module (`keras.layers`, `keras.src.ops.numpy`, ...); nil in legacy files.
    var module: String?
    var registeredName: String?
    /// True for a class registered by user code in Keras (`registered_name` other than the class
    /// name, or a module outside `keras`), as opposed to one of Keras's own layers.
    var isCustomClass: Bool {
        (registeredName.map { $0 != className } ?? false)
            || (module.map { $0 != "keras" && !$0.hasPrefix("keras.") } ?? false)
    }
    /// The constructor arguments.
    var config: [String: ConfigValue]
    /// For each call of the layer (each inbound node), the tensors it reads in call order, and
    /// whether they were passed as one list (merge layers) rather than one tensor.
    var calls: [KerasCall]
}

/// One call of a layer: its input tensors (in order) and whether they formed one list argument.
struct KerasCall: Sendable {
    var inputs: [KerasTensorRef]
    var asList: Bool
    /// Tensors passed as keyword arguments (Keras's `mask`, ...): surgeon refuses them.
    var keywordTensors: [KerasTensorRef]
}

/// A Keras model configuration (`config.json` of a `.keras` file or `model_config` of a `.h5`),
/// parsed into layer entries with explicit wiring. Keras 3 (`args`/`kwargs` nodes) and Keras 2
/// (lists of `[name, node, tensor, kwargs]`) node formats are both read.
struct KerasModelConfig: Sendable {
    enum Kind: String, Sendable { case functional = "Functional", sequential = "Sequential" }
    var kind: Kind
    var name: String
    var layers: [KerasLayerEntry]
    var inputs: [KerasTensorRef]
    var outputs: [KerasTensorRef]
    /// True when the config shows Keras 2's hand: a `keras.src.engine` / `keras.engine` module,
    /// Keras 2-style inbound nodes or an InputLayer with `batch_input_shape`. For files without
    /// a version (a `.keras` without `metadata.json`).
    var looksLikeKeras2 = false

    /// The `model.weights.h5` group of each layer, by layer name: numbered in Keras's
    /// `model.layers` order, which for a Functional model Keras recomputes from the graph and for
    /// a Sequential one is the list without its InputLayer.
    var weightGroups: [String: String] {
        let order: [String]
        switch kind {
        case .functional:
            order = KerasLayerOrder.order(layers: layers, inputs: inputs.map(\.layer), outputs: outputs.map(\.layer))
        case .sequential:
            order = layers.filter { $0.className != "InputLayer" }.map(\.name)
        }
        let classByName = Dictionary(layers.map { ($0.name, $0.className) }, uniquingKeysWith: { a, _ in a })
        return KerasWeightPaths.groups(for: order.map { ($0, classByName[$0] ?? "") })
    }

    /// Parses the top-level object (`{"class_name": ..., "config": {...}}`). `path` names the file.
    init(_ value: ConfigValue, path: String) throws(KerasError) {
        guard case let .object(top) = value else {
            throw .config(path: path, message: "the model config is not a JSON object")
        }
        guard case let .string(className)? = top["class_name"] else {
            throw .config(path: path, message: "the model config has no 'class_name'")
        }
        guard case let .object(config)? = top["config"] else {
            throw .config(path: path, message: "the model config has no 'config' object")
        }
        name = config["name"]?.stringValue ?? "model"
        if let module = top["module"]?.stringValue,
            module.hasPrefix("keras.src.engine") || module.hasPrefix("keras.engine")
        {
            looksLikeKeras2 = true
        }
        switch className {
        case "Functional", "Model":
            kind = .functional
            guard case let .array(entries)? = config["layers"] else {
                throw .config(path: path, message: "the Functional config has no 'layers' list")
            }
            layers = []
            for (k, entry) in entries.enumerated() {
                layers.append(try Self.functionalEntry(entry, index: k, path: path))
            }
            if case let .array(entries) = config["layers"] ?? .null,
                entries.contains(where: {
                    if case let .object(e) = $0, case let .array(nodes)? = e["inbound_nodes"],
                        case .array? = nodes.first
                    {
                        true
                    } else {
                        false
                    }
                })
            {
                looksLikeKeras2 = true
            }
            inputs = try Self.endpoints(config["input_layers"], key: "input_layers", path: path)
            outputs = try Self.endpoints(config["output_layers"], key: "output_layers", path: path)
        case "Sequential":
            kind = .sequential
            guard case let .array(entries)? = config["layers"] else {
                throw .config(path: path, message: "the Sequential config has no 'layers' list")
            }
            layers = []
            var previous: String?
            for (k, entry) in entries.enumerated() {
                var layer = try Self.sequentialEntry(entry, index: k, path: path)
                if let previous {
                    layer.calls = [
                        KerasCall(
                            inputs: [KerasTensorRef(layer: previous, node: 0, tensor: 0)], asList: false,
                            keywordTensors: [])
                    ]
                } else if layer.className != "InputLayer" {
                    // No InputLayer entry: Keras builds one from `build_input_shape` (or the
                    // first layer's `batch_input_shape`, Keras 2).
                    let shape =
                        config["build_input_shape"] ?? layer.config["batch_input_shape"] ?? layer.config["batch_shape"]
                    guard let shape, shape != .null else {
                        throw .config(
                            path: path,
                            message:
                                "the Sequential model has no InputLayer and no 'build_input_shape', so its input shape "
                                + "is unknown"
                        )
                    }
                    let input = KerasLayerEntry(
                        name: "input_layer", className: "InputLayer", module: "keras.layers", registeredName: nil,
                        config: ["batch_shape": shape, "name": "input_layer"], calls: [])
                    layers.append(input)
                    layer.calls = [
                        KerasCall(
                            inputs: [KerasTensorRef(layer: input.name, node: 0, tensor: 0)], asList: false,
                            keywordTensors: [])
                    ]
                }
                if layer.className == "InputLayer" { layer.calls = [] }
                layers.append(layer)
                previous = layer.name
            }
            guard let first = layers.first, let last = layers.last else {
                throw .config(path: path, message: "the Sequential model has no layers")
            }
            inputs = [KerasTensorRef(layer: first.name, node: 0, tensor: 0)]
            outputs = [KerasTensorRef(layer: last.name, node: 0, tensor: 0)]
        default:
            throw .config(
                path: path,
                message:
                    "the model class '\(className)' is not supported; surgeon reads Functional and Sequential models")
        }
        if layers.contains(where: { $0.className == "InputLayer" && $0.config["batch_input_shape"] != nil }) {
            looksLikeKeras2 = true
        }
    }

    /// The entries of Sequential models carry no `name` and no `inbound_nodes`.
    private static func sequentialEntry(
        _ value: ConfigValue, index: Int, path: String
    ) throws(KerasError) -> KerasLayerEntry {
        guard case let .object(entry) = value, case let .string(className)? = entry["class_name"] else {
            throw .config(path: path, message: "layer entry #\(index) has no 'class_name'")
        }
        guard case let .object(config)? = entry["config"] else {
            throw .config(path: path, message: "layer entry #\(index) (\(className)) has no 'config' object")
        }
        let name = entry["name"]?.stringValue ?? config["name"]?.stringValue ?? "\(className.lowercased())_\(index)"
        return KerasLayerEntry(
            name: name, className: className, module: entry["module"]?.stringValue,
            registeredName: entry["registered_name"]?.stringValue, config: config, calls: [])
    }

    private static func functionalEntry(
        _ value: ConfigValue, index: Int, path: String
    ) throws(KerasError) -> KerasLayerEntry {
        var layer = try sequentialEntry(value, index: index, path: path)
        guard case let .object(entry) = value else { return layer }
        guard let name = entry["name"]?.stringValue ?? layer.config["name"]?.stringValue else {
            throw .config(path: path, message: "layer entry #\(index) (\(layer.className)) has no 'name'")
        }
        layer.name = name
        guard case let .array(nodes)? = entry["inbound_nodes"] else {
            throw .config(path: path, message: "layer '\(name)' has no 'inbound_nodes' list")
        }
        layer.calls = []
        for node in nodes {
            do { layer.calls.append(try call(from: node)) } catch let message {
                throw .config(path: path, message: "layer '\(name)': \(message.text) in its inbound_nodes")
            }
        }
        return layer
    }

    /// A message without context, wrapped by the caller.
    struct Message: Error { var text: String }

    /// One inbound node: Keras 3 `{"args": [...], "kwargs": {...}}` or Keras 2
    /// `[[name, node, tensor, kwargs], ...]`.
    private static func call(from node: ConfigValue) throws(Message) -> KerasCall {
        switch node {
        case let .object(object):
            guard case let .array(args)? = object["args"] else { throw Message(text: "a node without 'args'") }
            var inputs: [KerasTensorRef] = []
            var asList = false
            for arg in args {
                if case .array = arg { asList = true }
                inputs += try tensors(in: arg)
            }
            var keyword: [KerasTensorRef] = []
            if let kwargs = object["kwargs"] { keyword = try tensors(in: kwargs) }
            return KerasCall(inputs: inputs, asList: asList, keywordTensors: keyword)
        case let .array(items):
            var inputs: [KerasTensorRef] = []
            var keyword: [KerasTensorRef] = []
            for item in items {
                guard case let .array(parts) = item, parts.count >= 3, let layer = parts[0].stringValue,
                    let n = parts[1].intValue, let t = parts[2].intValue
                else { throw Message(text: "an input that is not [layer, node, tensor, kwargs]") }
                inputs.append(KerasTensorRef(layer: layer, node: n, tensor: t))
                if parts.count > 3 { keyword += try tensors(in: parts[3]) }
            }
            return KerasCall(inputs: inputs, asList: inputs.count > 1, keywordTensors: keyword)
        default:
            throw Message(text: "a node that is neither an object nor a list")
        }
    }

    /// Every `__keras_tensor__` inside `value`, in order (nested lists flattened).
    private static func tensors(in value: ConfigValue) throws(Message) -> [KerasTensorRef] {
        switch value {
        case let .array(items):
            var result: [KerasTensorRef] = []
            for item in items { result += try tensors(in: item) }
            return result
        case let .object(object):
            if object["class_name"]?.stringValue == "__keras_tensor__" {
                guard case let .object(config)? = object["config"], case let .array(h)? = config["keras_history"],
                    h.count == 3,
                    let layer = h[0].stringValue, let n = h[1].intValue, let t = h[2].intValue
                else { throw Message(text: "a tensor without a valid 'keras_history'") }
                return [KerasTensorRef(layer: layer, node: n, tensor: t)]
            }
            var result: [KerasTensorRef] = []
            for (_, value) in object.sorted(by: { $0.key < $1.key }) { result += try tensors(in: value) }
            return result
        default:
            return []
        }
    }

    /// `input_layers` / `output_layers`: a bare triple, a list of triples, or a dict of triples
    /// (taken in sorted key order, as Keras does).
    private static func endpoints(
        _ value: ConfigValue?, key: String, path: String
    ) throws(KerasError) -> [KerasTensorRef] {
        func triple(_ items: [ConfigValue]) -> KerasTensorRef? {
            guard items.count == 3, let l = items[0].stringValue, let n = items[1].intValue, let t = items[2].intValue
            else { return nil }
            return KerasTensorRef(layer: l, node: n, tensor: t)
        }
        switch value {
        case let .array(items)?:
            if let single = triple(items) { return [single] }
            var result: [KerasTensorRef] = []
            for item in items {
                guard case let .array(parts) = item, let ref = triple(parts) else {
                    throw .config(path: path, message: "'\(key)' holds \(item), not a [layer, node, tensor] triple")
                }
                result.append(ref)
            }
            return result
        case let .object(dict)?:
            var result: [KerasTensorRef] = []
            for k in dict.keys.sorted() {
                guard case let .array(parts)? = dict[k], let ref = triple(parts) else {
                    throw .config(path: path, message: "'\(key)' entry '\(k)' is not a [layer, node, tensor] triple")
                }
                result.append(ref)
            }
            return result
        default:
            throw .config(path: path, message: "the Functional config has no '\(key)'")
        }
    }
}
