import Foundation
import SurgeonCore
import SurgeonFormats

/// Printing for humans and for scripts.
enum Output {
    /// Prints `value` as pretty, key-sorted JSON (`ReadableJSON`).
    static func json<T: Encodable>(_ value: T) throws {
        print(String(decoding: try ReadableJSON.encode(value), as: UTF8.self))
    }

    /// True when standard error is a terminal (progress bars go there).
    static var isTerminal: Bool { isatty(STDERR_FILENO) != 0 }

    /// A left-aligned text table with a header row.
    static func table(_ header: [String], _ rows: [[String]], rightAligned: Set<Int> = []) -> String {
        let widths = header.indices.map { c in ([header[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return rightAligned.contains(c) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return
            ([line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")] + rows.map(line))
            .joined(separator: "\n")
    }

    /// 1234567 -> "1,234,567".
    static func grouped(_ n: Int) -> String { Thousands.grouped(n) }

    static func percent(_ x: Double) -> String { String(format: "%.2f%%", x * 100) }

    /// Writes to standard error.
    static func status(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
