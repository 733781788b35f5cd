import SurgeonCore

/// Reading the loosely typed values of a Keras config (names, node and tensor indices).
extension ConfigValue {
    var stringValue: String? { if case let .string(s) = self { return s } else { return nil } }
    var intValue: Int? {
        if case let .number(d) = self, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        return nil
    }
}
