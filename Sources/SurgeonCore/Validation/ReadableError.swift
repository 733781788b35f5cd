import Foundation

/// Words for the errors Foundation throws while surgeon reads outside files, so that no raw
/// `DecodingError` or `NSCocoaErrorDomain` dump reaches a user. Readers wrap the result with the
/// file they were reading and what they expected there.
public enum ReadableError {
    /// What went wrong decoding JSON: the problem and where, e.g. "'name' is missing at
    /// groups[2]" or "expected a string at groups[0].layer, found a number".
    public static func decoding(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return reading(error) }
        switch error {
        case let .keyNotFound(key, context):
            return "'\(key.stringValue)' is missing at \(place(context))"
        case let .valueNotFound(type, context):
            return "expected \(typeName(type)) at \(place(context)), found null"
        case let .typeMismatch(type, context):
            return "expected \(typeName(type)) at \(place(context))" + found(context)
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty {
                return "it is not valid JSON, or a number does not fit the field it is in"
            }
            return "the value at \(place(context)) is not accepted: \(context.debugDescription)"
        @unknown default:
            return "it is not in the expected form"
        }
    }

    /// Why a file could not be read or written: "No such file or directory", "Permission
    /// denied", "Is a directory", ... (the operating system's words for the underlying errno).
    public static func reading(_ error: any Error) -> String {
        if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        // On Linux the underlying error is stored as a Swift `Error`, which `as? NSError` misses.
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? any Error {
            let u = underlying as NSError
            if u.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(u.code))) }
        }
        if ns.domain == NSCocoaErrorDomain {
            switch ns.code {
            case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "No such file or directory"
            case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "Permission denied"
            case NSFileReadCorruptFileError: return "the file is damaged"
            case NSFileReadInapplicableStringEncodingError: return "it is not UTF-8 text"
            case NSFileReadTooLargeError: return "the file is too large to read"
            case NSFileWriteOutOfSpaceError: return "no space left on the device"
            default: return "the operating system refused it (error \(ns.code))"
            }
        }
        // A Foundation error of another domain would print as a dump; a Swift error prints its description.
        if ns.domain.hasPrefix("NS") || ns.domain.hasPrefix("kCF") { return "\(ns.domain) error \(ns.code)" }
        return "\(error)"
    }

    private static func place(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        guard !keys.isEmpty else { return "the top level" }
        return keys.enumerated().map { i, k in i == 0 || k.hasPrefix("[") ? k : "." + k }.joined()
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") || name.hasPrefix("[") { return "a list" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "a value of type \(name)"
        }
    }

    /// "found a number" from Foundation's "Expected to decode String but found number instead."
    private static func found(_ context: DecodingError.Context) -> String {
        guard let range = context.debugDescription.range(of: "but found ") else { return "" }
        let rest = context.debugDescription[range.upperBound...]
        let what = rest.replacingOccurrences(of: " instead.", with: "").replacingOccurrences(of: " instead", with: "")
        return ", found \(what)"
    }
}
