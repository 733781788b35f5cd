import Foundation
import SurgeonCore

extension ExecCriterion {
    /// The contents of `groups.json` (keys in snake case).
    public struct Groups: Sendable, Codable, Equatable {
        /// `surgeon-criterion-1`: the version of this layout.
        public var format: String
        /// The prunable groups, in `ChannelAnalysis` order.
        public var groups: [Group]
        /// The name of the activations file, when `--data` was given.
        public var activations: String?
        /// Samples in the activations (the first batch of the data).
        public var batchSize: Int?
    }

    /// One prunable group.
    public struct Group: Sendable, Codable, Equatable {
        /// The key of its scores in `scores.json` (as a string).
        public var id: Int
        /// Its number of channels: the length of its score list.
        public var size: Int
        public var members: [Member]
    }

    /// One member of a group, as `surgeon groups` shows it, with where its channels are.
    public struct Member: Sendable, Codable, Equatable {
        public var layer: String
        public var type: String
        /// `producer`, `follower` or `consumer`.
        public var role: String
        /// How many channels of its tensor are in the group.
        public var channels: Int
        /// All channels of that tensor, when the group holds only some.
        public var of: Int?
        /// The layer whose output holds those channels: the member itself, or for a consumer the
        /// layer feeding it. Its name in `activations.npz`.
        public var tensor: String
        /// For each channel (last axis) of that tensor: its channel in this group, or null when it
        /// belongs to another group.
        public var groupChannels: [Int?]
        /// The member's weights.
        public var weights: [Weight]
    }

    /// One weight of a member.
    public struct Weight: Sendable, Codable, Equatable {
        /// Its name in `weights.npz`: `LAYER/WEIGHTNAME`.
        public var name: String
        public var shape: [Int]
        /// The axis over the layer's output channels (a filter's axis), if any.
        public var outputAxis: Int?
        /// The axis over its (first) input's channels, if any.
        public var inputAxis: Int?

        public init(name: String, shape: [Int], outputAxis: Int?, inputAxis: Int?) {
            self.name = name
            self.shape = shape
            self.outputAxis = outputAxis
            self.inputAxis = inputAxis
        }
    }

    /// What `groups.json` says of `context`'s model.
    static func groups(_ context: ScoringContext, activations: String?, batchSize: Int?) -> Groups {
        let graph = context.graph, analysis = context.analysis
        var groups: [Group] = []
        for group in analysis.prunableGroups {
            var consumerInputs: [String: Int] = [:]
            let members = group.members.map { m -> Member in
                let i = graph.index(of: m.layer) ?? 0
                var tensor = i
                if m.role == .consumer {
                    // The k-th consumer entry of a layer reads the k-th of its inputs in this group.
                    let inputs = uniqueInputs(graph, i).filter { j in
                        analysis.outputChannels[j].contains { $0.group == group.id }
                    }
                    let k = consumerInputs[m.layer, default: 0]
                    consumerInputs[m.layer] = k + 1
                    tensor = k < inputs.count ? inputs[k] : inputs.first ?? i
                }
                return Member(
                    layer: m.layer, type: m.type, role: m.role.rawValue, channels: m.channels, of: m.of,
                    tensor: graph.nodes[tensor].name,
                    groupChannels: analysis.outputChannels[tensor].map { $0.group == group.id ? $0.index : nil },
                    weights: weights(graph, i))
            }
            groups.append(Group(id: group.id, size: group.size, members: members))
        }
        return Groups(format: "surgeon-criterion-1", groups: groups, activations: activations, batchSize: batchSize)
    }

    static func uniqueInputs(_ graph: Graph, _ i: Int) -> [Int] {
        var seen = Set<Int>()
        return graph.inputIndices[i].filter { seen.insert($0).inserted }
    }

    static func weightName(_ graph: Graph, node i: Int, weight k: Int) -> String {
        let names = graph.nodes[i].layer.weightNames
        return "\(graph.nodes[i].name)/\(k < names.count ? names[k] : "weight_\(k)")"
    }

    static func weights(_ graph: Graph, _ i: Int) -> [Weight] {
        let layer = graph.nodes[i].layer
        let axes = (layer as? any SurgeryRule)?.weightChannelAxes ?? []
        return layer.weights.indices.map { k in
            Weight(
                name: weightName(graph, node: i, weight: k), shape: layer.weights[k].shape,
                outputAxis: k < axes.count ? axes[k].output : nil, inputAxis: k < axes.count ? axes[k].input : nil)
        }
    }

    /// Writes `groups.json`, the weights and (with data) the activations of the first batch.
    func writeInputs(_ context: ScoringContext, to folder: URL) throws(ExecCriterionError) {
        let graph = context.graph
        var batch: Tensor?
        if let data = context.data, data.count > 0 {
            batch = data.images.slice(rows: 0..<min(max(context.batchSize, 1), data.count))
        }
        let activationsFile = batch.map { _ in "activations.\(arrays.fileExtension)" }
        let description = Self.groups(context, activations: activationsFile, batchSize: batch?.shape[0])
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(description).write(to: folder.appendingPathComponent("groups.json"))
            var weights: [(name: String, tensor: Tensor)] = []
            for (i, node) in graph.nodes.enumerated() {
                for (k, w) in node.layer.weights.enumerated() {
                    weights.append((Self.weightName(graph, node: i, weight: k), w))
                }
            }
            try arrays.write(weights, to: folder.appendingPathComponent("weights.\(arrays.fileExtension)"))
            if let batch, let activationsFile {
                let wanted = Set(description.groups.flatMap { $0.members.map(\.tensor) })
                var outputs: [(name: String, tensor: Tensor)] = []
                _ = try graph.predict([batch]) { node, value in
                    if wanted.contains(graph.nodes[node].name) { outputs.append((graph.nodes[node].name, value)) }
                }
                try arrays.write(outputs, to: folder.appendingPathComponent(activationsFile))
            }
        } catch {
            throw .inputs(command: command, reason: "\(error)")
        }
    }
}
