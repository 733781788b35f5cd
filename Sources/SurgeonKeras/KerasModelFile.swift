import Foundation
import SurgeonCore
import SurgeonFormats

/// Reads Keras models — Keras 3 `.keras` archives and legacy Keras 2 / tf.keras `.h5` files —
/// and writes `.keras` archives that Keras 3's `load_model` accepts.
///
/// Reading never executes anything from the file: layers are looked up by class name in a
/// `LayerRegistry`, and anything that would need Python (`Lambda`, custom classes) is refused.
/// The result is the same `ModelFile.Contents` a `.surgeon` file gives, with the original layer
/// arguments kept in its metadata (`KerasOrigin`) for writing back.
public enum KerasModelFile {
    /// The Keras version written to `metadata.json` (the `.keras` layout this writer follows).
    public static let writtenKerasVersion = "3.15.1"
    /// The `metadata.json` key under which surgeon keeps its own model metadata.
    static let surgeonMetadataKey = "surgeon"

    // MARK: - Reading

    /// Reads a `.keras` or `.h5` / `.hdf5` file, by extension.
    public static func load(contentsOf url: URL, registry: LayerRegistry) throws(KerasError) -> ModelFile.Contents {
        let path = url.path
        let ext = url.pathExtension.lowercased()
        guard ["keras", "h5", "hdf5"].contains(ext) else { throw .unsupportedExtension(path: path) }
        let bytes: Data
        do { bytes = try Data(contentsOf: url) } catch {
            throw .unreadable(path: path, reason: ReadableError.reading(error))
        }
        return ext == "keras"
            ? try decodeArchive(bytes, path: path, registry: registry)
            : try decodeLegacy(bytes, path: path, registry: registry)
    }

    /// Decodes the bytes of a `.keras` archive; `path` names it in errors.
    public static func decodeArchive(
        _ bytes: Data, path: String, registry: LayerRegistry
    ) throws(KerasError) -> ModelFile.Contents {
        let members: [(name: String, data: Data)]
        // Only the members surgeon reads are extracted: an assets folder or a padded member is never unpacked.
        do { members = try ZipMembers.read(bytes, only: ["metadata.json", "config.json", "model.weights.h5"]) } catch {
            switch error {
            case let .corruptMember(member, reason): throw .corruptMember(path: path, member: member, reason: reason)
            case let .notAFile(member): throw .corruptMember(path: path, member: member, reason: "it is not a file")
            case let .notZip(reason), let .write(reason): throw .notAnArchive(path: path, reason: reason)
            case let .tooLarge(budget): throw .unreadable(path: path, reason: budget.description)
            }
        }
        func member(_ name: String) throws(KerasError) -> Data {
            guard let found = members.first(where: { $0.name == name }) else {
                throw .missingMember(path: path, member: name, members: ZipMembers.names(bytes))
            }
            return found.data
        }
        let configValue = try json(try member("config.json"), what: "config.json", path: path)
        let model = try KerasModelConfig(configValue, path: "\(path): config.json")
        var metadata: [String: ConfigValue] = [:]
        var version: String?
        if let meta = members.first(where: { $0.name == "metadata.json" }),
            case let .object(o)? = try? json(meta.data, what: "metadata.json", path: path)
        {
            version = o["keras_version"]?.stringValue
            if case let .object(own)? = o[surgeonMetadataKey] { metadata = own }
        }
        let legacy = version.map { $0.hasPrefix("2.") } ?? model.looksLikeKeras2
        let weightsImage = try member("model.weights.h5")
        var graph = try buildGraph(model, registry: registry, path: path, legacy: legacy, fileBytes: weightsImage.count)
        let weightsFile = try openHDF5(weightsImage, source: "\(path): model.weights.h5")
        try KerasWeights.loadTracked(
            into: &graph, from: weightsFile, groups: model.weightGroups, path: "\(path): model.weights.h5")
        metadata[KerasOrigin.metadataKey] = origin(of: model, version: version, legacy: legacy).metadataValue
        return ModelFile.Contents(graph: graph, metadata: metadata)
    }

    /// Decodes the bytes of a legacy `.h5` model file (`model_config` + `model_weights`).
    public static func decodeLegacy(
        _ bytes: Data, path: String, registry: LayerRegistry
    ) throws(KerasError) -> ModelFile.Contents {
        let file = try openHDF5(bytes, source: path)
        let configText: String
        let version: String?
        do {
            guard let text = try file.root.stringAttribute("model_config") else {
                let weightsOnly = try file.root.stringArrayAttribute("layer_names") != nil
                throw KerasError.config(
                    path: path,
                    message: weightsOnly
                        ? "this is a weights-only file (save_weights); surgeon needs a whole model saved with "
                            + "model.save"
                        : "the file has no 'model_config' attribute, so it is not a Keras model file")
            }
            configText = text
            version = try file.root.stringAttribute("keras_version")
        } catch let error as KerasError {
            throw error
        } catch {
            throw .hdf5(path: path, message: "\(error) (reading the model_config attribute)")
        }
        let configValue = try json(Data(configText.utf8), what: "the model_config attribute", path: path)
        let model = try KerasModelConfig(configValue, path: "\(path): model_config")
        let legacy = !(version?.hasPrefix("3.") ?? false)
        var graph = try buildGraph(model, registry: registry, path: path, legacy: legacy, fileBytes: bytes.count)
        guard file.root.exists("model_weights") else {
            throw .weights(path: path, message: "the file has no 'model_weights' group (it was saved without weights)")
        }
        let weights: HDF5Group
        do { weights = try file.root.group("model_weights") } catch {
            throw .hdf5(path: path, message: "\(error) (reading the weights)")
        }
        try KerasWeights.loadLegacy(into: &graph, from: weights, path: path, configOrder: model.layers.map(\.name))
        let metadata = [KerasOrigin.metadataKey: origin(of: model, version: version, legacy: legacy).metadataValue]
        return ModelFile.Contents(graph: graph, metadata: metadata)
    }

    /// The graph of `model`, with zero placeholders for the weights the file is about to fill:
    /// their total may not exceed what `fileBytes` of (at least 2-byte) values can hold, so a
    /// crafted config cannot make surgeon allocate more than the file could ever provide.
    private static func buildGraph(
        _ model: KerasModelConfig, registry: LayerRegistry, path: String, legacy: Bool,
        fileBytes: Int
    ) throws(KerasError) -> Graph {
        let reader = KerasGraphReader(registry: registry, path: path, legacy: legacy)
        var nodes = try reader.nodes(of: model)
        // The graph's inputs come first in the order Keras lists them, so that a model with
        // several inputs takes them in Keras's order (the graph keeps the given order where it can).
        let inputOrder = Dictionary(model.inputs.enumerated().map { ($1.layer, $0) }, uniquingKeysWith: { a, _ in a })
        nodes =
            nodes.filter { inputOrder[$0.name] != nil }.sorted {
                (inputOrder[$0.name] ?? 0) < (inputOrder[$1.name] ?? 0)
            }
            + nodes.filter { inputOrder[$0.name] == nil }
        let names = Set(nodes.map(\.name))
        for output in model.outputs where !names.contains(output.layer) {
            throw .config(path: path, message: "the model output '\(output.layer)' is not one of its layers")
        }
        // Every weight is read from the file next, so placeholders do instead of random draws.
        do {
            return try Graph(
                nodes: nodes, outputs: model.outputs.map(\.layer),
                initialization: .zeros(maximumElements: fileBytes / 2))
        } catch {
            throw .graph(path: path, message: "\(error)")
        }
    }

    private static func origin(of model: KerasModelConfig, version: String?, legacy: Bool) -> KerasOrigin {
        var layers: [String: KerasOrigin.LayerEntry] = [:]
        if !legacy {
            for entry in model.layers {
                var origin = KerasOrigin.LayerEntry(className: entry.className, config: entry.config)
                if entry.isCustomClass { origin.custom = (entry.module, entry.registeredName) }
                layers[entry.name] = origin
            }
        }
        return KerasOrigin(modelName: model.name, kerasVersion: version, layers: layers)
    }

    private static func json(_ data: Data, what: String, path: String) throws(KerasError) -> ConfigValue {
        do { return try JSONDecoder().decode(ConfigValue.self, from: data) } catch {
            throw .config(path: path, message: "\(what) is not valid JSON: \(ReadableError.decoding(error))")
        }
    }

    private static func openHDF5(_ data: Data, source: String) throws(KerasError) -> HDF5File {
        do { return try HDF5File(image: data, source: source) } catch {
            throw .hdf5(path: source, message: "\(error)")
        }
    }

    // MARK: - Writing

    /// The bytes of a `.keras` archive holding the model: `metadata.json`, `config.json` and
    /// `model.weights.h5`, stored uncompressed as Keras writes them.
    public static func encodeArchive(
        _ contents: ModelFile.Contents, source: String = "the .keras archive"
    ) throws(KerasError) -> Data {
        let origin = KerasOrigin(metadata: contents.metadata)
        if let node = contents.graph.nodes.first(where: { !type(of: $0.layer).hasKerasClass }) {
            throw .layer(
                path: source, layer: node.name, type: node.layer.kerasClassName,
                message:
                    "Keras has no layer class for this surgeon layer (it came from an ONNX channel split or shuffle); "
                    + "write the model as .onnx or .surgeon")
        }
        let graph = try kerasNamed(contents.graph, source: source)
        let (config, groups) = KerasConfigWriter(graph: graph, origin: origin).write()
        var own = contents.metadata
        own[KerasOrigin.metadataKey] = nil
        // A Keras model takes NHWC data whatever file it came from.
        own[DataLayout.metadataKey] = nil
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd@HH:mm:ss"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        let metadata: ConfigValue = .object([
            "keras_version": .string(writtenKerasVersion),
            "date_saved": .string(formatter.string(from: Date())),
            surgeonMetadataKey: .object(own),
        ])
        let weights: Data
        do {
            let file = try HDF5File(creatingInMemory: "\(source): model.weights.h5")
            try KerasWeights.writeTracked(
                graph, groups: groups, modelName: origin?.modelName ?? "model", to: file)
            weights = try file.image()
        } catch {
            throw .write(path: source, reason: "cannot build model.weights.h5: \(error)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return try ZipMembers.write([
                ("metadata.json", try encoder.encode(metadata)),
                ("config.json", try encoder.encode(config)),
                ("model.weights.h5", weights),
            ])
        } catch {
            throw .write(path: source, reason: "\(error)")
        }
    }

    /// `graph` with names Keras accepts: Keras 3 refuses a layer name with a '/', which ONNX
    /// node names (`/layer1/conv1/Conv`) have, so each '/' becomes '_' (made unique if need be).
    /// Keras finds weights by class and position, not by name, so nothing else changes.
    static func kerasNamed(_ graph: Graph, source: String) throws(KerasError) -> Graph {
        guard graph.nodes.contains(where: { $0.name.contains("/") }) else { return graph }
        var used = UniqueNames(graph.nodes.map(\.name).filter { !$0.contains("/") })
        var renamed: [String: String] = [:]
        for node in graph.nodes where node.name.contains("/") {
            renamed[node.name] = used.claim(node.name.replacingOccurrences(of: "/", with: "_"))
        }
        let nodes = graph.nodes.map { node in
            Node(renamed[node.name] ?? node.name, node.layer, inputs: node.inputs.map { renamed[$0] ?? $0 })
        }
        do {
            return try Graph(
                nodes: nodes, outputs: graph.outputNames.map { renamed[$0] ?? $0 }, initialization: .refuse)
        } catch {
            throw .write(path: source, reason: "cannot rename the layers for Keras: \(error)")
        }
    }

    /// Writes a `.keras` file atomically (temporary file + rename): on failure nothing is left.
    public static func save(_ contents: ModelFile.Contents, to url: URL) throws(KerasError) {
        guard url.pathExtension.lowercased() == "keras" else {
            throw .write(
                path: url.path, reason: "surgeon writes Keras models as .keras (Keras 3) only; legacy .h5 is read-only")
        }
        let bytes = try encodeArchive(contents, source: url.path)
        do { try AtomicFile.write(bytes, to: url) } catch {
            throw .write(path: url.path, reason: error.reason)
        }
    }
}
