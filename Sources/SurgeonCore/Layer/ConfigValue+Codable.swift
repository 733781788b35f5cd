import Foundation

extension ConfigValue {
    /// The JSON form of any `Encodable` value.
    public init<T: Encodable>(encoding value: T) throws {
        let data = try JSONEncoder().encode(value)
        self = try JSONDecoder().decode(ConfigValue.self, from: data)
    }

    /// Decodes this JSON value as `T`.
    public func decode<T: Decodable>(as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: JSONEncoder().encode(self))
    }
}
