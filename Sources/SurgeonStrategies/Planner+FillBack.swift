import SurgeonCore

extension Planner {
    /// A candidate's next restoration: the deletion count that gives back its next
    /// `roundTo` channels, and how much the channels it gives back are worth.
    struct Restoration {
        var candidate: Int
        var count: Int
        /// The mean normalised score of the channels it gives back.
        var worth: Float
    }

    /// `counts` (the search's plan) with channels given back, `roundTo` at a time, while the
    /// plan stays `withinTarget`.
    ///
    /// Rounding deletes channels `roundTo` at a time, so the first prefix of the ranking under
    /// the target can land well under it (a 16-channel step in a wide layer is several percent
    /// of the MACs); the search alone would cut more than the budget asks. Each round gives back
    /// the group's next rounded step whose channels score highest, among the steps that keep
    /// the plan within the target. A step that does not fit now never will (giving back
    /// channels never lowers the cost), so it is not tried again.
    func filledBack(
        _ counts: [Int], _ analysis: ChannelAnalysis, _ candidates: [Candidate],
        withinTarget: (PruningPlan) throws -> Bool
    ) throws -> PruningPlan {
        var counts = counts
        var next: [Int: Restoration] = [:]
        for k in candidates.indices {
            if let r = restoration(k, from: counts[k], candidates[k]) { next[k] = r }
        }
        while true {
            let ordered = next.values.sorted {
                $0.worth != $1.worth ? $0.worth > $1.worth : $0.candidate < $1.candidate
            }
            var taken = false
            for r in ordered {
                var trial = counts
                trial[r.candidate] = r.count
                if try withinTarget(planDeleting(trial, analysis, candidates)) {
                    counts = trial
                    next[r.candidate] = restoration(r.candidate, from: r.count, candidates[r.candidate])
                    taken = true
                    break
                }
                next[r.candidate] = nil
            }
            if !taken { return planDeleting(counts, analysis, candidates) }
        }
    }

    /// The largest deletion count under `count` at which candidate `k` deletes fewer channels
    /// (the limits and the rounding make several counts delete the same), or nil when it
    /// deletes none.
    func restoration(_ k: Int, from count: Int, _ c: Candidate) -> Restoration? {
        let now = deletions(c, .lowest(count))
        guard !now.isEmpty else { return nil }
        var n = min(count, c.group.size)
        var fewer = now
        while n > 0, fewer.count >= now.count {
            n -= 1
            fewer = deletions(c, .lowest(n))
        }
        let kept = Set(fewer)
        let given = now.filter { !kept.contains($0) && $0 < c.normalized.count }
        guard !given.isEmpty else { return nil }
        let worth = given.reduce(Float(0)) { $0 + c.normalized[$1] } / Float(given.count)
        return Restoration(candidate: k, count: n, worth: worth)
    }
}
