import ArgumentParser
import Foundation
import Layers
import SurgeonCore

extension Surgeon {
    /// `surgeon prune MODEL --plan PLAN.json -o OUT`.
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete the channels a plan names and write the smaller model.",
            discussion: """
            The whole plan is validated first (groups and sizes must match the model, indices in range, no group \
            emptied); only then is every layer rewritten, in one pass. A refused plan writes nothing. --dry-run \
            reports the change (channels per layer, parameters and MACs before and after) without writing.
            """)

        @Argument(help: ArgumentHelp("The model file.", valueName: "MODEL.surgeon"))
        var model: String

        @Option(help: ArgumentHelp("The pruning plan (JSON).", valueName: "PLAN.json"))
        var plan: String

        @Option(name: .shortAndLong, help: ArgumentHelp("The pruned model file to write.", valueName: "OUT.surgeon"))
        var output: String?

        @Flag(help: "Report what would change; write nothing.") var dryRun = false

        @OptionGroup var out: OutputOptions

        func validate() throws {
            if output == nil, !dryRun { throw ValidationError("give -o OUT.surgeon for the pruned model, or --dry-run") }
        }

        func run() throws {
            let contents = try Inputs.model(model)
            let plan = try PlanFile.read(self.plan)
            let pruned = try ChannelSurgeon.standard.apply(plan, to: contents.graph)
            let summary = PruningSummary(before: contents.graph, after: pruned)
            if !dryRun, let output {
                try ModelFile.save(ModelFile.Contents(graph: pruned, metadata: contents.metadata), to: URL(fileURLWithPath: output))
            }
            if out.json { try Output.json(summary); return }
            Self.print(summary)
            if !dryRun, let output { Output.status("wrote \(output)") }
        }

        static func print(_ summary: PruningSummary) {
            let changed = summary.layers.filter { $0.channelsBefore != $0.channelsAfter || $0.paramsBefore != $0.paramsAfter }
            Swift.print(Output.table(
                ["layer", "type", "channels", "params"],
                changed.map { [$0.name, $0.type, "\($0.channelsBefore) -> \($0.channelsAfter)",
                               "\(Output.grouped($0.paramsBefore)) -> \(Output.grouped($0.paramsAfter))"] }))
            func ratio(_ a: Int, _ b: Int) -> String { String(format: "%.1f%%", 100 * Double(b) / Double(max(a, 1))) }
            Swift.print("\nparams \(Output.grouped(summary.paramsBefore)) -> \(Output.grouped(summary.paramsAfter)) (\(ratio(summary.paramsBefore, summary.paramsAfter)))")
            Swift.print("MACs   \(Output.grouped(summary.macsBefore)) -> \(Output.grouped(summary.macsAfter)) (\(ratio(summary.macsBefore, summary.macsAfter)))")
        }
    }
}
