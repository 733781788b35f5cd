/// A JSON value: the vocabulary of layer configurations (Keras's `get_config()` dictionaries)
/// and of the native model file's header.
public enum ConfigValue: Sendable, Equatable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ConfigValue])
    case object([String: ConfigValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? container.decode(Double.self) {
            self = .number(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([ConfigValue].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: ConfigValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(b): try container.encode(b)
        case let .number(d): try container.encode(d)
        case let .string(s): try container.encode(s)
        case let .array(a): try container.encode(a)
        case let .object(o): try container.encode(o)
        }
    }

    public var description: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return "\(b)"
        case let .number(d): return d == d.rounded() && abs(d) < 1e15 ? "\(Int(d))" : "\(d)"
        case let .string(s): return "\"\(s)\""
        case let .array(a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case let .object(o):
            return "{" + o.keys.sorted().map { "\"\($0)\": \(o[$0]!.description)" }.joined(separator: ", ") + "}"
        }
    }
}

extension ConfigValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral
{
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: ConfigValue...) { self = .array(elements) }
}

/// A layer's configuration in Keras's vocabulary: `filters`, `kernel_size`, `padding`, ...
///
/// The typed accessors throw `LayerConfigError` naming the key and what was expected, so a
/// malformed model file gets an error that says which attribute of which layer is wrong.
public struct LayerConfig: Sendable, Equatable, Codable {
    public var values: [String: ConfigValue]

    public init(_ values: [String: ConfigValue] = [:]) { self.values = values }

    public subscript(key: String) -> ConfigValue? {
        get { values[key] }
        set { values[key] = newValue }
    }

    public init(from decoder: Decoder) throws {
        values = try decoder.singleValueContainer().decode([String: ConfigValue].self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(values)
    }

    public func int(_ key: String, default fallback: Int? = nil) throws(LayerError) -> Int {
        guard let value = values[key], value != .null else {
            if let fallback { return fallback }
            throw .config(.missing(key: key, expected: "an integer"))
        }
        guard case let .number(d) = value, let n = try? OutsideNumber.integer(d) else {
            throw .config(.invalid(key: key, value: value.description, expected: "an integer in -2^31...2^31"))
        }
        return n
    }

    /// An integer that must be at least 1 (`filters`, `units`, `depth_multiplier`).
    public func positiveInt(_ key: String, default fallback: Int? = nil) throws(LayerError) -> Int {
        let n = try int(key, default: fallback)
        guard n > 0 else { throw .config(.invalid(key: key, value: "\(n)", expected: "a positive integer")) }
        return n
    }

    public func double(_ key: String, default fallback: Double? = nil) throws(LayerError) -> Double {
        guard let value = values[key], value != .null else {
            if let fallback { return fallback }
            throw .config(.missing(key: key, expected: "a number"))
        }
        guard case let .number(d) = value, d.isFinite else {
            throw .config(.invalid(key: key, value: value.description, expected: "a finite number"))
        }
        return d
    }

    /// A number that may be absent or `null` (e.g. ReLU's `max_value`).
    public func optionalDouble(_ key: String) throws(LayerError) -> Double? {
        guard let value = values[key], value != .null else { return nil }
        return try double(key)
    }

    public func bool(_ key: String, default fallback: Bool? = nil) throws(LayerError) -> Bool {
        guard let value = values[key], value != .null else {
            if let fallback { return fallback }
            throw .config(.missing(key: key, expected: "true or false"))
        }
        guard case let .bool(b) = value else {
            throw .config(.invalid(key: key, value: value.description, expected: "true or false"))
        }
        return b
    }

    public func string(_ key: String, default fallback: String? = nil) throws(LayerError) -> String {
        guard let value = values[key], value != .null else {
            if let fallback { return fallback }
            throw .config(.missing(key: key, expected: "a string"))
        }
        guard case let .string(s) = value else {
            throw .config(.invalid(key: key, value: value.description, expected: "a string"))
        }
        return s
    }

    /// One of `accepted` (e.g. `padding`: "valid" or "same").
    public func choice(
        _ key: String, _ accepted: [String], default fallback: String? = nil
    ) throws(LayerError) -> String {
        let s = try string(key, default: fallback)
        guard accepted.contains(s) else {
            throw .config(
                .invalid(
                    key: key, value: "\"\(s)\"",
                    expected: "one of " + accepted.map { "\"\($0)\"" }.joined(separator: ", ")))
        }
        return s
    }

    /// A list of integers; a single integer `n` is read as `[n, n, ...]` of `count` (Keras allows
    /// `kernel_size: 3` for `[3, 3]`).
    public func ints(_ key: String, count: Int, default fallback: [Int]? = nil) throws(LayerError) -> [Int] {
        guard let value = values[key], value != .null else {
            if let fallback { return fallback }
            throw .config(.missing(key: key, expected: "\(count) integers"))
        }
        switch value {
        case let .number(d):
            guard let n = try? OutsideNumber.integer(d) else { break }
            return Array(repeating: n, count: count)
        case let .array(items) where items.count == count:
            var out: [Int] = []
            for item in items {
                guard case let .number(d) = item, let n = try? OutsideNumber.integer(d) else { break }
                out.append(n)
            }
            if out.count == count { return out }
        default:
            break
        }
        throw .config(.invalid(key: key, value: value.description, expected: "\(count) integers in -2^31...2^31"))
    }

    /// A list of integers of any length with no `null` in it; `expected` says what is accepted.
    public func intList(_ key: String, expected: String) throws(LayerError) -> [Int] {
        let entries = try intList(key)
        let ints = entries.compactMap { $0 }
        guard ints.count == entries.count else {
            throw .config(.invalid(key: key, value: values[key]?.description ?? "null", expected: expected))
        }
        return ints
    }

    /// A list of integers of any length (e.g. an input shape, whose entries may be `null`).
    public func intList(_ key: String) throws(LayerError) -> [Int?] {
        guard case let .array(items)? = values[key] else {
            throw .config(.missing(key: key, expected: "a list of integers"))
        }
        var out: [Int?] = []
        for item in items {
            switch item {
            case .null: out.append(nil)
            case let .number(d) where (try? OutsideNumber.integer(d)) != nil: out.append(Int(d))
            default:
                throw .config(
                    .invalid(
                        key: key, value: ConfigValue.array(items).description,
                        expected: "a list of integers in -2^31...2^31"))
            }
        }
        return out
    }
}

/// A layer attribute is missing or has a value the layer cannot take.
public enum LayerConfigError: Error, Equatable, CustomStringConvertible {
    case missing(key: String, expected: String)
    case invalid(key: String, value: String, expected: String)

    public var description: String {
        switch self {
        case let .missing(key, expected): return "attribute '\(key)' is missing (expected \(expected))"
        case let .invalid(key, value, expected): return "attribute '\(key)' is \(value), expected \(expected)"
        }
    }
}

/// Reading loosely typed values (names, indices) of a format's config.
extension ConfigValue {
    /// The string, or nil for any other kind of value.
    public var stringValue: String? { if case let .string(s) = self { return s } else { return nil } }
    /// The number as an integer when it is whole and below 10^15, else nil.
    public var intValue: Int? {
        if case let .number(d) = self, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        return nil
    }
}
