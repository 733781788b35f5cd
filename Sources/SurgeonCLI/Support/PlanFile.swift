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
            throw CommandError("cannot read the plan \(path): \((error as NSError).localizedDescription)")
        }
        do { return try JSONDecoder().decode(PruningPlan.self, from: data) } catch let DecodingError.keyNotFound(
            key, context)
        {
            throw CommandError(
                "\(path) is not a pruning plan: '\(key.stringValue)' is missing at \(Self.path(context))")
        } catch let DecodingError.typeMismatch(type, context) {
            throw CommandError("\(path) is not a pruning plan: expected \(type) at \(Self.path(context))")
        } catch {
            throw CommandError(
                "\(path) is not a pruning plan (JSON written by `surgeon groups --template` or `surgeon plan`): "
                    + "\(error)"
            )
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        return keys.isEmpty ? "the top level" : keys.joined(separator: ".")
    }
}
