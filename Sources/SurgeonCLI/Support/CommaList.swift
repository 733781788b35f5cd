import ArgumentParser
import Foundation
import SurgeonCore

/// Option values written as comma-separated lists (`--mean 0.5,0.4`, `--ratios 0.25,0.5`,
/// `--input-shape 28,28,1`), parsed one way for every option.
enum CommaList {
    /// The values of `text`, each trimmed of spaces; throws, naming `option` and saying what it
    /// takes (`takes`), when one does not parse, is refused by `isValid`, or when `count` is
    /// given and the number of values differs.
    static func parse<T: LosslessStringConvertible>(
        _ text: String, option: String, takes: String, count: Int? = nil, isValid: (T) -> Bool = { _ in true }
    ) throws(ValidationError) -> [T] {
        var values: [T] = []
        for part in text.split(separator: ",") {
            guard let value = T(part.trimmingCharacters(in: .whitespaces)), isValid(value) else {
                throw ValidationError("\(option) takes \(takes), got '\(text)'")
            }
            values.append(value)
        }
        guard !values.isEmpty,
            count.map({ $0 == values.count }) ?? (values.count <= SettingLimits.listLength.upperBound)
        else {
            throw ValidationError("\(option) takes \(takes), got '\(text)'")
        }
        return values
    }
}
