import Foundation

/// How many bytes one allocation sized by outside input may take: a zip member inflated, a
/// data file converted, the activations of one batch. Checked before the allocation, so that a
/// small crafted file cannot make surgeon ask for gigabytes.
///
/// The standard budget is half the machine's physical memory, or `SURGEON_MEMORY_LIMIT`
/// (bytes, or with a `K`, `M` or `G` suffix) when that is set and smaller.
public struct MemoryBudget: Sendable, Equatable {
    /// The most bytes one checked allocation may take.
    public var bytes: Int

    public init(bytes: Int) { self.bytes = max(0, bytes) }

    /// Half the physical memory, lowered by `SURGEON_MEMORY_LIMIT` when that is set; read once
    /// per process (every prediction checks against it, and reading the environment cost a
    /// tenth of a small model's batch-1 latency).
    public static var standard: MemoryBudget { processBudget }

    private static let processBudget: MemoryBudget = {
        let half = Int(clamping: ProcessInfo.processInfo.physicalMemory / 2)
        guard let text = ProcessInfo.processInfo.environment["SURGEON_MEMORY_LIMIT"],
            let limit = parse(text)
        else { return MemoryBudget(bytes: half) }
        return MemoryBudget(bytes: min(half, limit))
    }()

    /// Throws when `count` items of `itemBytes` bytes would exceed the budget (or overflow).
    /// `what` names the allocation for the error ("the activations of layer 'up' for a batch of 64").
    public func check(count: Int, itemBytes: Int = 1, for what: @autoclosure () -> String) throws(MemoryBudgetError) {
        let (total, overflow) = max(count, 0).multipliedReportingOverflow(by: max(itemBytes, 1))
        guard !overflow, total <= bytes else {
            throw MemoryBudgetError(what: what(), needed: overflow ? nil : total, budget: bytes)
        }
    }

    /// A byte count such as `8G`, `512M`, `4096`; nil when the text is not one.
    static func parse(_ text: String) -> Int? {
        let t = text.uppercased()
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        if let last = t.last, let unit = units[last], let n = Int(t.dropLast()), n >= 0 {
            let (bytes, overflow) = n.multipliedReportingOverflow(by: unit)
            return overflow ? nil : bytes
        }
        return Int(t).flatMap { $0 >= 0 ? $0 : nil }
    }
}

/// An allocation sized by outside input would exceed the memory budget.
public struct MemoryBudgetError: Error, Equatable, CustomStringConvertible {
    /// What would have been allocated.
    public var what: String
    /// The bytes it needs; nil when the count overflows.
    public var needed: Int?
    public var budget: Int

    public var description: String {
        let need = needed.map { MemoryBudgetError.format($0) } ?? "more than 2^63 bytes"
        return "\(what) would need \(need), beyond the memory budget of \(MemoryBudgetError.format(budget)) "
            + "(half the physical memory, or SURGEON_MEMORY_LIMIT)"
    }

    static func format(_ bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) bytes" : String(format: "%.1f %@", value, units[unit])
    }
}
