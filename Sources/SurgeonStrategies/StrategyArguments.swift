/// The checked values of a strategy's parameters, defaults filled in: what a registry entry's
/// factory makes the strategy from.
public struct StrategyArguments: Sendable, Equatable {
    /// `criterion 'taylor'`: how messages name the strategy.
    public var strategy: String
    public private(set) var values: [String: StrategyValue]

    /// Checks `pairs` against `parameters`: each key declared and given once, each value of
    /// its type and in range, every required parameter present.
    public init(
        strategy: String, parameters: [StrategyParameter], pairs: [StrategySpec.Value]
    ) throws(StrategySpecError) {
        self.strategy = strategy
        values = [:]
        for pair in pairs {
            guard let parameter = parameters.first(where: { $0.name == pair.key }) else {
                throw .unknownParameter(strategy: strategy, parameter: pair.key, accepted: parameters)
            }
            guard values[pair.key] == nil else {
                throw .duplicateParameter(strategy: strategy, parameter: pair.key, accepted: parameters)
            }
            values[pair.key] = try parameter.value(from: pair.value, strategy: strategy, accepted: parameters)
        }
        for parameter in parameters where values[parameter.name] == nil {
            guard let value = parameter.defaultValue else {
                throw .missingParameter(strategy: strategy, parameter: parameter, accepted: parameters)
            }
            values[parameter.name] = value
        }
    }

    /// The integer parameter `name`.
    public func integer(_ name: String) throws(StrategySpecError) -> Int {
        guard case let .integer(v)? = values[name] else { throw .undeclared(strategy: strategy, parameter: name) }
        return v
    }

    /// The number parameter `name` (an integer parameter reads as a number too).
    public func number(_ name: String) throws(StrategySpecError) -> Double {
        switch values[name] {
        case let .number(v)?: return v
        case let .integer(v)?: return Double(v)
        default: throw .undeclared(strategy: strategy, parameter: name)
        }
    }

    /// The text parameter `name`.
    public func text(_ name: String) throws(StrategySpecError) -> String {
        guard case let .text(v)? = values[name] else { throw .undeclared(strategy: strategy, parameter: name) }
        return v
    }
}
