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

        @Option(
            help: ArgumentHelp(
                "Also write an editable plan that deletes nothing. "
                    + OutputPath.help(standardOutput: "the plan", note: "the listing then goes to standard error"),
                valueName: "PLAN.json"))
        var template: String?

        @OptionGroup var out: OutputOptions

        func validate() throws {
            try OutputPath.refuseWithJSON(template, option: "--template", json: out.json)
        }

        func run() throws {
            if let template { try OutputPath.check(template) }
            let graph = try model.load().graph
            let analysis = try Registries.current.surgeon.analyze(graph)
            if let template { try PlanFile.write(PruningPlan(template: analysis), to: template) }
            if out.json { try Output.json(analysis.groups); return }
            for group in analysis.groups {
                let state = group.prunable ? "" : "  (not prunable)"
                OutputPath.say("group \(group.id): \(group.size) channel(s)\(state)", besides: template)
                for m in group.members {
                    let part = m.of.map { "\(m.channels) of \($0)" } ?? "\(m.channels)"
                    OutputPath.say("  \(m.layer) (\(m.type)) \(m.role.rawValue), \(part) channel(s)", besides: template)
                }
            }
            OutputPath.say(
                "\n\(analysis.groups.count) groups, \(analysis.prunableGroups.count) prunable", besides: template)
        }
    }
}
