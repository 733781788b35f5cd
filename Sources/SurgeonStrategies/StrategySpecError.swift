/// The three kinds of strategy a registry holds.
public enum StrategyKind: String, Sendable, Equatable, CaseIterable {
    case criterion, policy, regularizer
}

/// A strategy spec was refused before any work: an unknown name, a spec that is not
/// `NAME[:key=value,...]`, or a parameter that is unknown, missing, given twice, of the wrong
/// type or out of range. Every case names the strategy and lists what it accepts.
public enum StrategySpecError: Error, Equatable, CustomStringConvertible {
    /// No strategy of this kind has the name (nor an alias).
    case unknown(kind: StrategyKind, name: String, accepted: [String])
    /// The spec's form is wrong (`reason` says how).
    case malformed(spec: String, reason: String)
    /// `strategy` (e.g. `criterion 'taylor'`) declares no parameter `parameter`.
    case unknownParameter(strategy: String, parameter: String, accepted: [StrategyParameter])
    case duplicateParameter(strategy: String, parameter: String, accepted: [StrategyParameter])
    case missingParameter(strategy: String, parameter: StrategyParameter, accepted: [StrategyParameter])
    case wrongType(strategy: String, parameter: StrategyParameter, value: String, accepted: [StrategyParameter])
    case outOfRange(strategy: String, parameter: StrategyParameter, value: String, accepted: [StrategyParameter])
    /// The strategy's factory read a parameter it does not declare (a programming error in
    /// the strategy, reported instead of a crash).
    case undeclared(strategy: String, parameter: String)
    /// The strategy's factory refused the combination of values.
    case refused(strategy: String, reason: String)

    public var description: String {
        switch self {
        case let .unknown(kind, name, accepted):
            return "unknown \(kind.rawValue) '\(name)'; supported: \(accepted.joined(separator: ", "))"
        case let .malformed(spec, reason):
            return "'\(spec)' is not NAME or NAME:key=value,...: \(reason)"
        case let .unknownParameter(strategy, parameter, accepted):
            return "unknown parameter '\(parameter)' of \(strategy); \(Self.list(accepted))"
        case let .duplicateParameter(strategy, parameter, accepted):
            return "parameter '\(parameter)' of \(strategy) is given twice; \(Self.list(accepted))"
        case let .missingParameter(strategy, parameter, accepted):
            return "\(strategy) needs parameter '\(parameter.name)'; \(Self.list(accepted))"
        case let .wrongType(strategy, parameter, value, accepted):
            return
                "parameter '\(parameter.name)' of \(strategy) takes \(parameter.type), got '\(value)'; "
                + "\(Self.list(accepted))"
        case let .outOfRange(strategy, parameter, value, accepted):
            return
                "parameter '\(parameter.name)' of \(strategy) must be \(parameter.type), got \(value); "
                + "\(Self.list(accepted))"
        case let .undeclared(strategy, parameter):
            return "\(strategy) reads parameter '\(parameter)', which it does not declare"
        case let .refused(strategy, reason):
            return "\(strategy): \(reason)"
        }
    }

    static func list(_ accepted: [StrategyParameter]) -> String {
        accepted.isEmpty ? "it takes no parameters" : "accepted: " + accepted.map(\.description).joined(separator: ", ")
    }
}
