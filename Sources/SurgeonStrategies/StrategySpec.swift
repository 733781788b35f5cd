/// A strategy as the user names it, before it is checked against the registry: `bn-gamma`,
/// `taylor:batches=8`, `norm:p=2`, `exec:python3 score.py`, or a recipe's map
/// `{name: taylor, batches: 8}`.
///
/// Command-line syntax: `NAME` or `NAME:key=value,key=value`. The name ends at the first `:`;
/// what follows is read by the strategy's declared parameters (`StrategyRegistry` does it), so
/// that a strategy with a `trailingText` parameter (`exec`) takes everything after its other
/// parameters verbatim, commas and colons included.
public struct StrategySpec: Sendable, Equatable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// One `key: value` of a recipe's map form.
    public struct Value: Sendable, Equatable, Hashable {
        public var key: String
        public var value: String

        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    /// The registered name or alias (`taylor`, `l1`).
    public var name: String
    /// What follows `NAME:` on the command line, verbatim; nil when there is no `:`.
    public var text: String?
    /// The map form's parameters, in order (empty for the command-line form).
    public var values: [Value]

    /// Reads the command-line form `NAME` or `NAME:ARGUMENTS`.
    public init(_ spec: String) {
        if let colon = spec.firstIndex(of: ":") {
            name = String(spec[..<colon])
            text = String(spec[spec.index(after: colon)...])
        } else {
            name = spec
            text = nil
        }
        values = []
    }

    /// The map form: a name and `key: value` pairs.
    public init(name: String, values: [Value] = []) {
        self.name = name
        self.text = nil
        self.values = values
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// The spec as it would be written on the command line.
    public var description: String {
        if let text { return "\(name):\(text)" }
        if values.isEmpty { return name }
        return "\(name):" + values.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// The `key=value` pairs this spec gives, read with `parameters` (see the type's comment).
    func pairs(_ parameters: [StrategyParameter], strategy: String) throws(StrategySpecError) -> [Value] {
        guard let text else { return values }
        guard !text.isEmpty else {
            throw .malformed(
                spec: description, reason: "nothing follows ':'; give key=value pairs or leave out the ':'")
        }
        if let rest = parameters.first(where: { $0.type == .trailingText }) {
            return Self.pairs(trailing: text, rest: rest, parameters)
        }
        var pairs: [Value] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let eq = item.firstIndex(of: "="), !item[..<eq].trimmed.isEmpty else {
                throw .malformed(spec: description, reason: "'\(item)' is not key=value")
            }
            pairs.append(Value(item[..<eq].trimmed, item[item.index(after: eq)...].trimmed))
        }
        return pairs
    }

    /// Leading `key=value,` pairs whose key is another declared parameter, then the rest (after
    /// an optional `REST=`) as the trailing parameter's value.
    private static func pairs(
        trailing text: String, rest: StrategyParameter, _ parameters: [StrategyParameter]
    ) -> [Value] {
        var pairs: [Value] = []
        var remaining = Substring(text)
        while let eq = remaining.firstIndex(of: "="),
            case let key = remaining[..<eq].trimmed, key != rest.name, parameters.contains(where: { $0.name == key })
        {
            let end = remaining[eq...].firstIndex(of: ",") ?? remaining.endIndex
            pairs.append(Value(key, remaining[remaining.index(after: eq)..<end].trimmed))
            remaining = end == remaining.endIndex ? "" : remaining[remaining.index(after: end)...]
        }
        var value = remaining.trimmed
        if value.hasPrefix(rest.name + "=") { value = String(value.dropFirst(rest.name.count + 1)) }
        if !value.isEmpty { pairs.append(Value(rest.name, value)) }
        return pairs
    }
}

extension Substring {
    var trimmed: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
