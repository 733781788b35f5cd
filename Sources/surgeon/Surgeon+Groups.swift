import ArgumentParser
import Foundation
import Layers
import SurgeonCore

extension Surgeon {
    /// `surgeon groups MODEL`: the coupled channel groups.
    struct Groups: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the coupled channel groups of a model: the channels that must be deleted together.",
            discussion: """
            A group holds every layer whose channels live or die together: the producers (Conv2D filters, Dense \
            units), the layers that carry the channels (BatchNorm, activations, Add, Concatenate, depthwise \
            convolutions), and the consumers whose input slices go with them. Channels that reach a graph output \
            (the logits) or come from a graph input are not prunable. --template writes a plan listing every \
            group with an empty deletion list, to edit and pass to `surgeon prune --plan`.
            """)

        @Argument(help: ArgumentHelp("The model file (.surgeon, .keras or .h5).", valueName: "MODEL"))
        var model: String

        @Option(help: ArgumentHelp("Also write an editable plan that deletes nothing.", valueName: "PLAN.json"))
        var template: String?

        @OptionGroup var out: OutputOptions

        func run() throws {
            let graph = try Inputs.model(model).graph
            let analysis = try ChannelSurgeon.standard.analyze(graph)
            if let template { try PlanFile.write(PruningPlan(template: analysis), to: template) }
            if out.json { try Output.json(analysis.groups); return }
            for group in analysis.groups {
                let state = group.prunable ? "" : "  (not prunable)"
                print("group \(group.id): \(group.size) channel(s)\(state)")
                for m in group.members {
                    let part = m.of.map { "\(m.channels) of \($0)" } ?? "\(m.channels)"
                    print("  \(m.layer) (\(m.type)) \(m.role.rawValue), \(part) channel(s)")
                }
            }
            print("\n\(analysis.groups.count) groups, \(analysis.prunableGroups.count) prunable")
        }
    }

    /// `surgeon rules`: the layer types surgery supports.
    struct Rules: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the layer types that have a surgery rule, with their channel maps.")

        @OptionGroup var out: OutputOptions

        struct Entry: Codable {
            var type: String
            var channel_map: String
        }

        func run() throws {
            let entries = try SurgeryRegistry.standard.names.map { name in
                Entry(type: name, channel_map: try Self.describeMap(of: name))
            }
            if out.json { try Output.json(entries); return }
            print(Output.table(["layer type", "channel map"], entries.map { [$0.type, $0.channel_map] }))
        }

        /// The channel map of a default instance of the type, as a sentence.
        static func describeMap(of name: String) throws -> String {
            guard let type = LayerRegistry.standard.type(named: name),
                  let sample = try? type.init(config: Self.sampleConfigs[name] ?? LayerConfig()),
                  let rule = sample as? any SurgeryRule else { return "declared by the layer" }
            let shapes: [Shape] = ["Add", "Multiply", "Concatenate"].contains(name) ? [[4, 4, 2], [4, 4, 2]]
                : name == "Dense" ? [[4]] : name == "InputLayer" ? [] : [[4, 4, 2]]
            var map = (try? rule.channelMap(inputShapes: shapes))?.description ?? "declared by the layer"
            if case .expanded? = try? rule.channelMap(inputShapes: shapes) { map = "expanded(by: depth_multiplier)" }
            return rule.outputChannelsArePrunable ? map : "\(map), pinned (not prunable)"
        }

        /// Configurations for the types whose init needs attributes.
        static let sampleConfigs: [String: LayerConfig] = [
            "InputLayer": LayerConfig(["batch_shape": [.null, 4, 4, 2]]),
            "Conv2D": LayerConfig(["filters": 2, "kernel_size": 1]),
            "DepthwiseConv2D": LayerConfig(["kernel_size": 3]),
            "SeparableConv2D": LayerConfig(["filters": 2, "kernel_size": 3]),
            "Conv2DTranspose": LayerConfig(["filters": 2, "kernel_size": 3]),
            "Dense": LayerConfig(["units": 2]),
            "Activation": LayerConfig(["activation": "relu"]),
            "Dropout": LayerConfig(["rate": 0.5]),
            "ZeroPadding2D": LayerConfig(["padding": 1]),
        ]
    }
}

/// Reading and writing pruning plans as JSON.
enum PlanFile {
    static func write(_ plan: PruningPlan, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(plan), to: URL(fileURLWithPath: path))
    }

    static func read(_ path: String) throws -> PruningPlan {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CommandError("cannot read the plan \(path): \((error as NSError).localizedDescription)")
        }
        do { return try JSONDecoder().decode(PruningPlan.self, from: data) } catch let DecodingError.keyNotFound(key, context) {
            throw CommandError("\(path) is not a pruning plan: '\(key.stringValue)' is missing at \(Self.path(context))")
        } catch let DecodingError.typeMismatch(type, context) {
            throw CommandError("\(path) is not a pruning plan: expected \(type) at \(Self.path(context))")
        } catch {
            throw CommandError("\(path) is not a pruning plan (JSON written by `surgeon groups --template` or `surgeon plan`): \(error)")
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        return keys.isEmpty ? "the top level" : keys.joined(separator: ".")
    }
}
