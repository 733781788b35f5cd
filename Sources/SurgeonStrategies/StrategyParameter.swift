import SurgeonCore

/// A named knob a criterion, policy or regulariser declares (`taylor`'s `batches`, `norm`'s
/// `p`): its type, its accepted range and its default. `surgeon strategies` lists them, and a
/// spec (`taylor:batches=8`, or a recipe's `{name: taylor, batches: 8}`) is checked against
/// them before any work starts.
public struct StrategyParameter: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var type: ParameterType
    /// The value when the spec leaves the parameter out; nil makes it required.
    public var defaultValue: StrategyValue?
    /// One line for `surgeon strategies`.
    public var summary: String

    public init(_ name: String, _ type: ParameterType, default defaultValue: StrategyValue?, summary: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.summary = summary
    }

    /// `p (an integer in 1...2, default 1)`: how error messages list accepted parameters.
    public var description: String {
        "\(name) (\(type)\(defaultValue.map { ", default \($0)" } ?? ", required"))"
    }

    /// Reads `text` as a value of this parameter's type, in range.
    func value(
        from text: String, strategy: String, accepted: [StrategyParameter]
    ) throws(StrategySpecError) -> StrategyValue {
        switch type {
        case let .integer(range):
            do { return .integer(try OutsideNumber.integer(text, in: range)) } catch {
                switch error {
                case .notANumber, .notIntegral, .notFinite:
                    throw .wrongType(strategy: strategy, parameter: self, value: text, accepted: accepted)
                default:
                    throw .outOfRange(strategy: strategy, parameter: self, value: text, accepted: accepted)
                }
            }
        case let .number(range):
            guard let v = Double(text), !v.isNaN else {
                throw .wrongType(strategy: strategy, parameter: self, value: text, accepted: accepted)
            }
            guard (try? OutsideNumber.finite(v, in: range)) != nil else {
                throw .outOfRange(strategy: strategy, parameter: self, value: text, accepted: accepted)
            }
            return .number(v)
        case .text, .trailingText:
            guard !text.isEmpty else {
                throw .wrongType(strategy: strategy, parameter: self, value: text, accepted: accepted)
            }
            return .text(text)
        }
    }
}

/// What a parameter accepts.
public enum ParameterType: Sendable, Equatable, CustomStringConvertible {
    /// A whole number in the range (`batches`, `p`).
    case integer(ClosedRange<Int>)
    /// A finite number in the range (`timeout`, in seconds).
    case number(ClosedRange<Double>)
    /// Non-empty text without commas on the command line.
    case text
    /// Non-empty text that runs to the end of a command-line spec, commas, colons and `=`
    /// included: `exec`'s command. Other parameters, as `key=value,` pairs, come before it
    /// (`exec:timeout=120,python3 score.py`). At most one parameter of a strategy has this type.
    case trailingText

    /// `an integer in 1...2`, as messages and `surgeon strategies` say it.
    public var description: String {
        switch self {
        case let .integer(range): return "an integer in \(range.lowerBound)...\(range.upperBound)"
        case let .number(range):
            return "a number in \(StrategyValue.number(range.lowerBound))...\(StrategyValue.number(range.upperBound))"
        case .text: return "text"
        case .trailingText: return "text to the end of the spec"
        }
    }

    /// The short name `surgeon strategies --json` gives the type.
    public var kind: String {
        switch self {
        case .integer: return "integer"
        case .number: return "number"
        case .text: return "text"
        case .trailingText: return "trailing-text"
        }
    }
}

/// A parameter's value, after parsing.
public enum StrategyValue: Sendable, Equatable, CustomStringConvertible {
    case integer(Int)
    case number(Double)
    case text(String)

    /// As it would be written in a spec: `4`, `60`, `0.5`, `python3 score.py`.
    public var description: String {
        switch self {
        case let .integer(v): return "\(v)"
        case let .number(v):
            if v == v.rounded(), abs(v) < 1e15 { return "\(Int(v))" }
            return "\(v)"
        case let .text(v): return v
        }
    }
}
