import Foundation
import SurgeonCore

/// Reads and writes layer weights in Keras's two HDF5 layouts: the Keras 3 object-tracking
/// layout of `model.weights.h5` (`layers/<class>_<n>/vars/<index>`) and the legacy Keras 2
/// `model_weights/<layer>/<weight path>` layout of `.h5` model files.
enum KerasWeights {
    /// Fills the weights of every node of `graph` that has weights from a `.keras` weights
    /// file, whose groups follow `groups` (layer name -> `layers/.../vars`).
    static func loadTracked(
        into graph: inout Graph, from file: HDF5File, groups: [String: String], path: String
    ) throws(KerasError) {
        for i in graph.nodes.indices {
            let node = graph.nodes[i]
            let expected = node.layer.weights.map(\.shape)
            let names = node.layer.weightNames
            guard let groupPath = groups[node.name] else {
                if expected.isEmpty { continue }
                throw .weights(
                    path: path,
                    message:
                        "layer '\(node.name)' (\(node.layer.kerasClassName)) is not reached from the model's outputs, "
                        + "so Keras keeps no weights for it"
                )
            }
            let described = "layer '\(node.name)' (\(node.layer.kerasClassName), weights in '\(groupPath)')"
            guard file.root.exists(groupPath) else {
                if expected.isEmpty { continue }
                throw .weights(
                    path: path,
                    message:
                        "\(described) expects \(expected.count) weights (\(names.joined(separator: ", "))), but "
                        + "model.weights.h5 has no such group"
                )
            }
            let group: HDF5Group
            let stored: [String]
            do {
                group = try file.root.group(groupPath)
                stored = try group.childNames().filter { Int($0) != nil }
            } catch {
                throw .hdf5(path: path, message: "\(error) (reading the weights of \(described))")
            }
            guard stored.count == expected.count else {
                throw .weights(
                    path: path,
                    message:
                        "\(described) expects \(expected.count) weights (\(names.joined(separator: ", "))), but the "
                        + "file holds \(stored.count)"
                )
            }
            var weights: [Tensor] = []
            for (k, shape) in expected.enumerated() {
                let label = k < names.count ? names[k] : "#\(k)"
                weights.append(
                    try read(group, "\(k)", shape: shape, what: "\(described), weight \(k) (\(label))", path: path))
            }
            do { try graph.setWeights(weights, ofNode: i) } catch {
                throw .weights(path: path, message: "\(described): \(error)")
            }
        }
    }

    /// Fills the weights from a legacy `.h5` `model_weights` group, matching layers by name and
    /// each layer's weights by the order of its `weight_names` attribute (never by rebuilding
    /// paths from names: Keras 2 and 3 spell them differently).
    ///
    /// Keras itself pairs layers by position among those with weights, so a file whose
    /// `layer_names` order disagrees with the config's layer order (`configOrder`) would load
    /// differently in Keras: it is refused rather than read either way.
    static func loadLegacy(
        into graph: inout Graph, from weightsGroup: HDF5Group, path: String, configOrder: [String]
    ) throws(KerasError) {
        let saved: [String]
        do {
            saved = try stringList(weightsGroup, "layer_names") ?? []
        } catch {
            throw .hdf5(path: path, message: "\(error) (reading the layer names of model_weights)")
        }
        var withWeights: Set<String> = []
        for i in graph.nodes.indices {
            let node = graph.nodes[i]
            let expected = node.layer.weights.map(\.shape)
            let names = node.layer.weightNames
            let described = "layer '\(node.name)' (\(node.layer.kerasClassName))"
            guard saved.contains(node.name), weightsGroup.exists(node.name) else {
                if expected.isEmpty { continue }
                throw .weights(
                    path: path,
                    message:
                        "\(described) expects \(expected.count) weights (\(names.joined(separator: ", "))), but "
                        + "model_weights has no group '\(node.name)'"
                )
            }
            let group: HDF5Group
            let weightNames: [String]
            do {
                group = try weightsGroup.group(node.name)
                weightNames = try stringList(group, "weight_names") ?? []
            } catch {
                throw .hdf5(path: path, message: "\(error) (reading the weight names of \(described))")
            }
            if !weightNames.isEmpty { withWeights.insert(node.name) }
            guard weightNames.count == expected.count else {
                throw .weights(
                    path: path,
                    message:
                        "\(described) expects \(expected.count) weights (\(names.joined(separator: ", "))), "
                        + "but model_weights/\(node.name) lists \(weightNames.count)"
                        + (weightNames.isEmpty ? "" : " (\(weightNames.joined(separator: ", ")))")
                )
            }
            var weights: [Tensor] = []
            for (k, shape) in expected.enumerated() {
                weights.append(
                    try read(
                        group, weightNames[k], shape: shape, what: "\(described), weight '\(weightNames[k])'",
                        path: path))
            }
            do { try graph.setWeights(weights, ofNode: i) } catch {
                throw .weights(path: path, message: "\(described): \(error)")
            }
        }
        let savedOrder = saved.filter { withWeights.contains($0) }
        let configWithWeights = configOrder.filter { withWeights.contains($0) }
        if savedOrder != configWithWeights,
            let k = zip(savedOrder, configWithWeights).enumerated().first(where: { $0.element.0 != $0.element.1 })?
                .offset
        {
            throw .weights(
                path: path,
                message:
                    "model_weights lists the weights of layer '\(savedOrder[k])' where the model config has layer "
                    + "'\(configWithWeights[k])' "
                    + "(layer #\(k + 1) with weights); Keras pairs them by position and surgeon by name, so the file "
                    + "is ambiguous"
            )
        }
        // Weights saved for a layer the config does not have would be silently dropped.
        for name in saved where !withWeights.contains(name) && graph.index(of: name) == nil {
            if let group = try? weightsGroup.group(name), let listed = try? stringList(group, "weight_names"),
                !listed.isEmpty
            {
                throw .weights(
                    path: path,
                    message: "model_weights holds weights for layer '\(name)', which the model config does not have")
            }
        }
    }

    /// A string-list attribute, also in the chunked form Keras uses past 64 KB (`name0`, `name1`, ...).
    static func stringList(_ group: HDF5Group, _ name: String) throws(HDF5Error) -> [String]? {
        if let list = try group.stringArrayAttribute(name) { return list }
        var result: [String] = []
        var k = 0
        while let chunk = try group.stringArrayAttribute("\(name)\(k)") {
            result += chunk
            k += 1
        }
        return k == 0 ? nil : result
    }

    private static func read(
        _ group: HDF5Group, _ name: String, shape: Shape, what: String, path: String
    ) throws(KerasError) -> Tensor {
        let dataset: HDF5Dataset
        let values: [Float]
        do {
            guard group.exists(name) else {
                let listed = (try? group.childNames())?.contains(name) ?? false
                throw KerasError.weights(
                    path: path,
                    message: listed
                        ? "\(what): '\(group.path)/\(name)' is listed but cannot be opened (the weights file is "
                            + "damaged)"
                        : "\(what): no dataset '\(group.path)/\(name)'")
            }
            dataset = try group.dataset(name)
            guard dataset.shape == shape else {
                throw KerasError.weights(
                    path: path,
                    message: "\(what) has shape \(dataset.shape) in the file; the model config implies \(shape)")
            }
            values = try dataset.readFloats()
        } catch let error as KerasError {
            throw error
        } catch {
            throw .hdf5(path: path, message: "\(error) (reading \(what))")
        }
        do { return try Tensor(shape: shape, scalars: values) } catch {
            throw .weights(path: path, message: "\(what): \(error)")
        }
    }

    /// Writes every node's weights in the Keras 3 layout: a `vars` group per layer (with the
    /// `name` attribute Keras writes), datasets `0..n-1` in the layer's weight order.
    static func writeTracked(
        _ graph: Graph, groups: [(name: String, group: String)], modelName: String, to file: HDF5File
    ) throws(HDF5Error) {
        let root = try file.root.createGroup("vars")
        try root.writeStringAttribute("name", modelName)
        for (name, groupPath) in groups {
            guard let node = graph[name] else { continue }
            let group = try file.root.createGroup(groupPath)
            try group.writeStringAttribute("name", name)
            for (k, tensor) in node.layer.weights.enumerated() {
                let weightName = k < node.layer.weightNames.count ? node.layer.weightNames[k] : ""
                if weightName == "count", tensor.count == 1, let count = Int64(exactly: tensor.scalars[0].rounded()) {
                    // Keras's Normalization keeps its sample count as an integer variable.
                    try group.writeInt64Dataset("\(k)", shape: tensor.shape, values: [count])
                } else {
                    try group.writeDataset("\(k)", shape: tensor.shape, values: tensor.scalars)
                }
            }
        }
    }
}
