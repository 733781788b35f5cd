import SurgeonCore

/// A configuration number that applies to every channel, or a list with one number per
/// channel (broadcast over the last axis): Rescaling's `scale` and `offset`, Normalization's
/// `mean` and `variance`. A one-element list acts like a number but is written back as a list.
public enum ChannelValues: Sendable, Equatable {
    case uniform(Float)
    case perChannel([Float])

    /// Reads `key`: a number or a non-empty list of numbers.
    init(config: LayerConfig, key: String) throws {
        let expected = "a number or a non-empty list of numbers (one per channel)"
        switch config[key] {
        case let .number(d)? where d.isFinite:
            self = .uniform(Float(d))
        case let .array(items)? where !items.isEmpty:
            var values: [Float] = []
            for item in items {
                guard case let .number(d) = item, d.isFinite else {
                    throw LayerError.config(
                        .invalid(key: key, value: ConfigValue.array(items).description, expected: expected))
                }
                values.append(Float(d))
            }
            self = .perChannel(values)
        case nil, .null?:
            throw LayerError.config(.missing(key: key, expected: expected))
        case let value?:
            throw LayerError.config(.invalid(key: key, value: value.description, expected: expected))
        }
    }

    var configValue: ConfigValue {
        switch self {
        case let .uniform(v): return .number(Double(v))
        case let .perChannel(values): return .array(values.map { .number(Double($0)) })
        }
    }

    /// True when the values fit `channels` channels (one value, or one per channel).
    func fits(channels: Int) -> Bool {
        switch self {
        case .uniform: return true
        case let .perChannel(values): return values.count == 1 || values.count == channels
        }
    }

    /// The value of each of `channels` channels (precondition: `fits(channels:)`).
    func values(channels: Int) -> [Float] {
        switch self {
        case let .uniform(v): return [Float](repeating: v, count: channels)
        case let .perChannel(values): return values.count == 1 ? [Float](repeating: values[0], count: channels) : values
        }
    }

    /// The values of the channels `kept` only (a shared value stays shared).
    func selecting(_ kept: [Int]) -> ChannelValues {
        guard case let .perChannel(values) = self, values.count > 1 else { return self }
        return .perChannel(kept.map { values[$0] })
    }

    /// What a message shows: the number or the list, as the config writes it.
    var description: String { configValue.description }
}
