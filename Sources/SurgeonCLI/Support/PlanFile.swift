import Foundation
import SurgeonCore
import SurgeonFormats

/// Reading and writing pruning plans as JSON.
enum PlanFile {
    /// Writes the plan atomically; `-` prints it on standard output.
    static func write(_ plan: PruningPlan, to path: String) throws {
        guard OutputPath.isStandardOutput(path) else {
            return try ReadableJSON.write(plan, to: URL(fileURLWithPath: path))
        }
        try OutputPath.write(ReadableJSON.encode(plan) + Data("\n".utf8), to: path)
    }

    static func read(_ path: String) throws -> PruningPlan {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CommandError("cannot read the plan \(path): \(ReadableError.reading(error))")
        }
        do { return try JSONDecoder().decode(PruningPlan.self, from: data) } catch {
            throw CommandError(
                "\(path) is not a pruning plan: \(ReadableError.decoding(error)) "
                    + "(expected the JSON that `surgeon plan` or `surgeon groups --template` writes)")
        }
    }
}
