import Foundation

/// The JSON surgeon writes for people and scripts (pruning plans, metrics, sensitivity curves,
/// `--json` output): pretty-printed with sorted keys, so that files diff well and the same value
/// always gives the same bytes. Model files keep their own compact encoding (`ModelFile`).
public enum ReadableJSON {
    /// `value` as pretty-printed, key-sorted JSON.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value)
    }

    /// Writes `value` to `url` as pretty-printed, key-sorted JSON, atomically.
    public static func write<T: Encodable>(_ value: T, to url: URL) throws {
        try AtomicFile.write(encode(value), to: url)
    }
}
