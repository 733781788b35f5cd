import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonPipeline

extension SurgeonCommand {
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

        @OptionGroup var model: ModelArgument

        @Option(help: ArgumentHelp("Also write an editable plan that deletes nothing.", valueName: "PLAN.json"))
        var template: String?

        @OptionGroup var out: OutputOptions

        func run() throws {
            let graph = try model.load().graph
            let analysis = try Registries.current.surgeon.analyze(graph)
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
}
