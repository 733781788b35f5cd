import SurgeonCore

/// Writes a graph as a Keras 3 Functional model config (`config.json` of a `.keras` file) and
/// says which `model.weights.h5` group holds each layer's weights.
///
/// When the graph came from a Keras file, each layer's original constructor arguments
/// (initialisers, regularisers, `trainable`, ...) are kept and the layer's current
/// configuration is laid over them, so a pruned Conv2D keeps everything but its new `filters`.
/// Build configs are left out on purpose: Keras would rebuild layers from their old shapes.
struct KerasConfigWriter {
    var graph: Graph
    /// Original Keras configs by layer name (from `KerasOrigin`), or empty.
    var origin: KerasOrigin?

    /// The config object and the weight group of each layer, in Keras's `model.layers` order.
    func write() -> (config: ConfigValue, groups: [(name: String, group: String)]) {
        let inputNames = graph.inputNodeIndices.map { graph.nodes[$0].name }
        let entries = graph.nodes.map { node in
            KerasLayerEntry(
                name: node.name, className: node.layer.kerasClassName, module: "keras.layers", registeredName: nil,
                config: [:],
                calls: node.inputs.isEmpty
                    ? []
                    : [
                        KerasCall(
                            inputs: node.inputs.map { KerasTensorRef(layer: $0, node: 0, tensor: 0) },
                            asList: node.inputs.count > 1, keywordTensors: [])
                    ])
        }
        let order = KerasLayerOrder.order(layers: entries, inputs: inputNames, outputs: graph.outputNames)
        let ordered = order.compactMap { name in graph.index(of: name) }
        let groupByName = KerasWeightPaths.groups(
            for: ordered.map { (graph.nodes[$0].name, graph.nodes[$0].layer.kerasClassName) })

        var layers: [ConfigValue] = []
        for i in ordered {
            let node = graph.nodes[i]
            let inbound: [ConfigValue]
            if node.inputs.isEmpty {
                inbound = []
            } else {
                let tensors = node.inputs.map { tensor($0) }
                let args: [ConfigValue] = node.inputs.count > 1 ? [.array(tensors)] : tensors
                inbound = [.object(["args": .array(args), "kwargs": .object([:])])]
            }
            let custom = origin?.layers[node.name].flatMap {
                $0.className == node.layer.kerasClassName ? $0.custom : nil
            }
            layers.append(
                .object([
                    "module": custom.map { $0.module.map { .string($0) } ?? .null } ?? "keras.layers",
                    "class_name": .string(node.layer.kerasClassName),
                    "config": .object(layerConfig(node)),
                    "registered_name": custom.map { $0.registeredName.map { .string($0) } ?? .null } ?? .null,
                    "name": .string(node.name),
                    "inbound_nodes": .array(inbound),
                ]))
        }
        let endpoint = { (name: String) -> ConfigValue in .array([.string(name), 0, 0]) }
        let config: ConfigValue = .object([
            "module": "keras.src.models.functional",
            "class_name": "Functional",
            "registered_name": "Functional",
            "config": .object([
                "name": .string(origin?.modelName ?? "model"),
                "trainable": true,
                "layers": .array(layers),
                "input_layers": .array(inputNames.map(endpoint)),
                "output_layers": .array(graph.outputNames.map(endpoint)),
            ]),
        ])
        return (config, ordered.map { (graph.nodes[$0].name, groupByName[graph.nodes[$0].name] ?? "") })
    }

    private func tensor(_ name: String) -> ConfigValue {
        let shape = graph.index(of: name).map { graph.shapes[$0] } ?? []
        return .object([
            "class_name": "__keras_tensor__",
            "config": .object([
                "shape": .array([.null] + shape.map { .number(Double($0)) }),
                "dtype": "float32",
                "keras_history": .array([.string(name), 0, 0]),
            ]),
        ])
    }

    /// The original arguments (when known and of the same class) under the layer's own.
    private func layerConfig(_ node: Node) -> [String: ConfigValue] {
        var config: [String: ConfigValue] = [:]
        if let original = origin?.layers[node.name], original.className == node.layer.kerasClassName {
            config = original.config
        }
        if node.layer.kerasClassName == "InputLayer" {
            for key in ["batch_input_shape", "shape", "input_shape"] { config[key] = nil }
        }
        for (key, value) in node.layer.config.values { config[key] = value }
        config["name"] = .string(node.name)
        if config["trainable"] == nil, node.layer.kerasClassName != "InputLayer" { config["trainable"] = true }
        return config
    }
}
