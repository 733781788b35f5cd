import ArgumentParser
import SurgeonCore

/// Checks a command-line number in `validate()` against its accepted range (`SettingLimits`,
/// the same ranges recipes are held to), through `OutsideNumber`, so that the refusal names the
/// option, the value and what is accepted.
enum OptionBounds {
    static func check(_ value: Int, _ option: String, _ range: ClosedRange<Int>) throws(ValidationError) {
        do { _ = try OutsideNumber.integer(value, in: range) } catch { throw ValidationError("\(option): \(error)") }
    }

    static func check(_ value: Double, _ option: String, _ range: ClosedRange<Double>) throws(ValidationError) {
        do { _ = try OutsideNumber.finite(value, in: range) } catch { throw ValidationError("\(option): \(error)") }
    }
}
