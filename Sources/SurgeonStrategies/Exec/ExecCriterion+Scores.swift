import Foundation
import SurgeonCore

extension ExecCriterion {
    /// Reads `scores.json`: for each of `groups` exactly `size` finite scores, no other keys.
    /// Problems are reported in a fixed order: the file, its form, unknown keys, then group by
    /// group a missing list, a wrong count, a non-finite score.
    func readScores(_ url: URL, groups: [ChannelGroup]) throws(ExecCriterionError) -> [Int: [Float]] {
        guard let data = try? Data(contentsOf: url) else { throw .noScores(command: command) }
        let decoder = JSONDecoder()
        // JSON5 reads NaN and Infinity (Python's json.dump writes them), so that they are
        // reported as such rather than as unreadable JSON.
        decoder.allowsJSON5 = true
        let parsed: [String: [Double]]
        do { parsed = try decoder.decode([String: [Double]].self, from: data) } catch DecodingError.dataCorrupted {
            throw .unparsable(command: command, reason: "scores.json is not valid JSON")
        } catch {
            throw .unparsable(command: command, reason: Self.expectedForm)
        }
        let ids = Set(groups.map(\.id))
        if let key = parsed.keys.sorted().first(where: { Int($0).map { !ids.contains($0) } ?? true }) {
            throw .unknownGroup(command: command, key: key, prunable: groups.map(\.id))
        }
        var scores: [Int: [Float]] = [:]
        for (key, values) in parsed { if let id = Int(key) { scores[id] = values.map { Float($0) } } }
        for group in groups {
            guard let values = scores[group.id] else {
                throw .missingGroup(command: command, group: group.id, size: group.size)
            }
            guard values.count == group.size else {
                throw .wrongCount(command: command, group: group.id, expected: group.size, actual: values.count)
            }
            if let k = values.firstIndex(where: { !$0.isFinite }) {
                throw .notFinite(
                    command: command, group: group.id, channel: k, value: parsed["\(group.id)"]?[k] ?? Double(values[k])
                )
            }
        }
        return scores
    }

    static let expectedForm =
        #"scores.json must be an object mapping each prunable group's id to its list of scores, e.g. {"0": [0.5, 1.5]}"#
}
