import ArgumentParser
import SurgeonPipeline
import SurgeonStrategies

extension SurgeonCommand {
    /// `surgeon strategies`.
    struct Strategies: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the importance criteria, group policies and sparsity regularisers.")
        @OptionGroup var out: OutputOptions

        struct Entry: Encodable { var kind: String; var name: String; var summary: String }

        func run() throws {
            let entries = StrategyCatalog.entries
            if out.json { try Output.json(entries.map { Entry(kind: $0.kind, name: $0.name, summary: $0.summary) }); return }
            print(Output.table(["kind", "name", "what it does"], entries.map { [$0.kind, $0.name, $0.summary] }))
        }
    }
}

/// The registered strategies, for `--help` and `surgeon strategies`.
enum StrategyCatalog {
    static var entries: [(kind: String, name: String, summary: String)] {
        let r = Registries.current.strategies
        return r.criteria.map { ("criterion", $0.name, $0.summary + ($0.needsData ? " [needs --data]" : "")) }
            + r.policies.map { ("policy", $0.name, $0.summary) }
            + r.regularizers.map { ("regularizer", $0.name, $0.summary) }
    }

    static var text: String {
        entries.map { "\($0.kind) \($0.name): \($0.summary)" }.joined(separator: "\n")
    }
}
