import ArgumentParser
import SurgeonPipeline
import SurgeonStrategies

extension SurgeonCommand {
    /// `surgeon strategies`.
    struct Strategies: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the importance criteria, group policies and sparsity regularisers, with their parameters.",
            discussion: "Give parameters as NAME:key=value,... (--strategy taylor:batches=8) or, in a recipe, as a map "
                + "({name: taylor, batches: 8}).")
        @OptionGroup var out: OutputOptions

        /// One parameter in `--json`.
        struct Parameter: Encodable {
            var name: String
            var type: String
            var accepts: String
            var `default`: String?
            var summary: String
        }

        /// One strategy in `--json`.
        struct Entry: Encodable {
            var kind: String
            var name: String
            var summary: String
            var parameters: [Parameter]
            var alias_of: String?
        }

        func run() throws {
            let entries = StrategyCatalog.entries
            if out.json {
                try Output.json(
                    entries.map { e in
                        let parameters = e.parameters.map {
                            Parameter(
                                name: $0.name, type: $0.type.kind, accepts: "\($0.type)",
                                default: $0.defaultValue?.description,
                                summary: $0.summary)
                        }
                        return Entry(
                            kind: e.kind, name: e.name, summary: e.summary, parameters: parameters, alias_of: e.aliasOf)
                    })
                return
            }
            print(
                Output.table(
                    ["kind", "name", "parameters", "what it does"],
                    entries.map { [$0.kind, $0.name, StrategyCatalog.defaults($0.parameters), $0.summary] }))
            let parameters = entries.flatMap { e in
                e.parameters.map { [e.kind, e.name, $0.name, "\($0.type)", $0.summary] }
            }
            if !parameters.isEmpty {
                print("\n" + Output.table(["kind", "name", "parameter", "accepts", "meaning"], parameters))
            }
        }
    }
}

/// The registered strategies, for `--help` and `surgeon strategies`.
enum StrategyCatalog {
    struct Entry {
        var kind: String
        var name: String
        var summary: String
        var parameters: [StrategyParameter] = []
        var aliasOf: String?
    }

    /// Each kind's strategies, then its aliases.
    static var entries: [Entry] {
        let r = Registries.current.strategies
        func aliases(_ kind: StrategyKind) -> [Entry] {
            r.aliases.filter { $0.kind == kind }.map {
                Entry(kind: kind.rawValue, name: $0.name, summary: "the same as \($0.target)", aliasOf: "\($0.target)")
            }
        }
        return r.criteria.map {
            Entry(
                kind: "criterion", name: $0.name, summary: $0.summary + ($0.needsData ? " [needs --data]" : ""),
                parameters: $0.parameters)
        }
            + aliases(.criterion)
            + r.policies.map { Entry(kind: "policy", name: $0.name, summary: $0.summary, parameters: $0.parameters) }
            + aliases(.policy)
            + r.regularizers.map {
                Entry(kind: "regularizer", name: $0.name, summary: $0.summary, parameters: $0.parameters)
            }
            + aliases(.regularizer)
    }

    /// `batches=4`, `timeout=60, command`: the parameters with their defaults.
    static func defaults(_ parameters: [StrategyParameter]) -> String {
        parameters.map { p in p.defaultValue.map { "\(p.name)=\($0)" } ?? p.name }.joined(separator: ", ")
    }

    static var text: String {
        entries.map { e in
            let parameters = e.parameters.isEmpty ? "" : " (parameters: \(defaults(e.parameters)))"
            return "\(e.kind) \(e.name): \(e.summary)\(parameters)"
        }.joined(separator: "\n")
    }
}
