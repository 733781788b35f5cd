/// A tensor that holds only part of a group (a channel split's output) can lose all its
/// channels while the group keeps some: the plan is then refused (`SurgeryError.emptiesTensor`).
/// Planners spare one channel of each such tensor instead.
extension ChannelAnalysis {
    /// The nodes whose every output channel `deleted` (per group, per group channel) deletes.
    public func emptiedTensors(_ deleted: [[Bool]]) -> [Int] {
        outputChannels.indices.filter { node in
            let row = outputChannels[node]
            return !row.isEmpty
                && row.allSatisfy { ch in
                    ch.group < deleted.count && ch.index < deleted[ch.group].count && deleted[ch.group][ch.index]
                }
        }
    }

    /// `plan` with one channel kept in every tensor it would empty: of that tensor's channels,
    /// the one `score` ranks highest (the first on ties). Deletions that index past a group are
    /// left for `Surgeon.validate` to refuse.
    public func sparingEveryTensor(
        _ plan: PruningPlan, score: (_ group: Int, _ index: Int) -> Float = { _, _ in 0 }
    ) -> PruningPlan {
        var deleted = groups.map { [Bool](repeating: false, count: $0.size) }
        var position: [Int: Int] = [:]
        for (k, planned) in plan.groups.enumerated() where planned.id >= 0 && planned.id < groups.count {
            position[planned.id] = k
            for i in planned.delete where i >= 0 && i < groups[planned.id].size { deleted[planned.id][i] = true }
        }
        var result = plan
        for node in emptiedTensors(deleted) {
            let row = outputChannels[node]
            // Another repair may already have spared one of this tensor's channels.
            guard row.allSatisfy({ deleted[$0.group][$0.index] }), var best = row.first else { continue }
            for ch in row.dropFirst() where score(ch.group, ch.index) > score(best.group, best.index) { best = ch }
            deleted[best.group][best.index] = false
            if let k = position[best.group] { result.groups[k].delete.removeAll { $0 == best.index } }
        }
        return result
    }
}
