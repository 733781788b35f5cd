import ArgumentParser
import SurgeonCore
import SurgeonPipeline

extension SurgeonCommand {
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
            let layers = Registries.current.layers
            let entries = layers.surgeryRuleNames.map { name in
                Entry(type: name, channel_map: layers.type(named: name).map(Self.describeMap) ?? "")
            }
            if out.json { try Output.json(entries); return }
            print(Output.table(["layer type", "channel map"], entries.map { [$0.type, $0.channel_map] }))
        }

        /// The channel map of the type's first example, as a sentence.
        static func describeMap(of type: any Layer.Type) -> String {
            guard let example = type.examples.first, let rule = (try? example.make()) as? any SurgeryRule else {
                return "declared by the layer"
            }
            let shapes = example.inputShapes(channels: 2)
            var map = (try? rule.channelMap(inputShapes: shapes))?.description ?? "declared by the layer"
            if case .expanded? = try? rule.channelMap(inputShapes: shapes) { map = "expanded(by: depth_multiplier)" }
            let splitsIntoBlocks = type.examples.contains { example in
                guard let rule = (try? example.make()) as? any SurgeryRule,
                    let blocks = try? rule.channelBlocks(inputShapes: example.inputShapes(channels: 2))
                else { return false }
                return blocks != ChannelBlocks()
            }
            if splitsIntoBlocks { map += ", in equal blocks when grouped" }
            return rule.outputChannelsArePrunable ? map : "\(map), pinned (not prunable)"
        }
    }
}
