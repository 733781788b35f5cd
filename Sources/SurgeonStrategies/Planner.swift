import SurgeonCore

/// Turns a criterion, a group policy and a budget into a `PruningPlan` for a model.
public struct Planner: Sendable {
    public var criterion: any ImportanceCriterion
    public var policy: any GroupPolicy
    public var budget: Budget
    public var surgeon: Surgeon

    public init(criterion: any ImportanceCriterion, policy: any GroupPolicy, budget: Budget, surgeon: Surgeon) {
        self.criterion = criterion
        self.policy = policy
        self.budget = budget
        self.surgeon = surgeon
    }

    /// The plan and what it does to the model.
    public struct Result: Sendable {
        public var plan: PruningPlan
        public var summary: PruningSummary
        /// Prunable groups the criterion could not score (no member it can judge).
        public var unscoredGroups: [Int]
        /// Prunable groups left alone because layers split them into blocks the planner cannot
        /// balance (`BlockLayout.coupled`: blocks that reach other groups, or incompatible splits).
        public var coupledGroups: [Int] = []
    }

    /// Scores the channels of `graph` and picks the deletions the budget allows.
    public func plan(_ graph: Graph, data: LabeledData? = nil, seed: UInt64 = 0) throws -> Result {
        try budget.validate()
        if criterion.needsData, data == nil { throw StrategyError.needsData(criterion: criterion.name) }
        let analysis = try surgeon.analyze(graph)
        let scores = try criterion.checkedScores(
            ScoringContext(graph: graph, analysis: analysis, surgeon: surgeon, data: data, seed: seed))
        var candidates: [Candidate] = []
        var unscored: [Int] = [], coupled: [Int] = []
        for group in analysis.groups where group.prunable {
            let members = scores[group.id]
            guard !members.isEmpty else { unscored.append(group.id); continue }
            if group.members.contains(where: { budget.ignore.contains($0.layer) }) { continue }
            var blocks: [[Int]]?
            switch analysis.blockLayout(ofGroup: group.id) {
            case .free: break
            case let .blocks(b): blocks = b
            case .coupled: coupled.append(group.id); continue
            }
            let combined = policy.combinedScores(members)
            let top = combined.max() ?? 0
            candidates.append(
                Candidate(
                    group: group, members: members, combined: combined,
                    normalized: criterion.scoresAreComparableAcrossGroups
                        ? combined : combined.map { top > 0 ? $0 / top : 0 }, blocks: blocks,
                    limit: max(
                        0,
                        min(group.size - budget.minChannels, Int((budget.maxRatio * Double(group.size)).rounded(.down)))
                    )))
        }
        let plan: PruningPlan
        switch budget.target {
        case let .ratio(r, global: false):
            plan = makePlan(analysis, candidates) { Selection.lowest(Int((r * Double($0.group.size)).rounded(.down))) }
        case let .ratio(r, global: true):
            let ranking = globalRanking(candidates)
            plan = planTaking(Int((r * Double(ranking.count)).rounded(.down)), ranking, analysis, candidates)
        case let .threshold(t):
            plan = makePlan(analysis, candidates) { _ in Selection.below(t) }
        case let .macs(f):
            plan = try search(f, cost: \.macCount, name: "MACs", graph, analysis, candidates)
        case let .params(f):
            plan = try search(f, cost: \.parameterCount, name: "parameters", graph, analysis, candidates)
        }
        let pruned = try surgeon.apply(plan, to: graph, analysis: analysis)
        return Result(
            plan: plan, summary: PruningSummary(before: graph, after: pruned), unscoredGroups: unscored,
            coupledGroups: coupled)
    }

    /// What `prune(_:steps:...)` did.
    public struct StepsResult: Sendable {
        public var graph: Graph
        /// The last step's plan and summary.
        public var last: Result
        public var compensation: BiasCompensation.Report
    }

    /// Reaches the budget in `steps` equal steps: each step re-scores the current model, plans,
    /// folds the deleted channels into the consumers' biases (`compensation`, measured on
    /// `probe`) and applies the plan; `afterStep(graph, step)` runs after every step and
    /// returns the model the next step starts from (fine-tuning, progress).
    public func prune(
        _ graph: Graph, steps: Int, data: LabeledData?, probe: Tensor, compensation: BiasCompensation, seed: UInt64,
        afterStep: (Graph, Int) throws -> Graph = { graph, _ in graph }
    ) throws -> StepsResult {
        let originalCost = budget.cost(of: graph)
        var current = graph
        var report = BiasCompensation.Report()
        var last: Result?
        for step in 1...max(steps, 1) {
            var stepPlanner = self
            stepPlanner.budget = budget.step(
                step, of: steps, costNow: budget.cost(of: current), costOriginal: originalCost)
            let result = try stepPlanner.plan(current, data: data, seed: seed &+ UInt64(step))
            let (pruned, r) = try surgeon.apply(result.plan, to: current, compensating: compensation, probe: probe)
            report.folds += r.folds
            report.skippedApproximate += r.skippedApproximate
            last = result
            current = try afterStep(pruned, step)
        }
        return StepsResult(graph: current, last: last!, compensation: report)
    }

    // MARK: - Selection

    struct Candidate {
        var group: ChannelGroup
        var members: [MemberScores]
        var combined: [Float]
        var normalized: [Float]
        /// Blocks that must each lose the same number of channels (a grouped convolution's).
        var blocks: [[Int]]?
        /// The most channels this group may lose.
        var limit: Int
    }

    enum Selection {
        case lowest(Int)
        case below(Float)

    }

    /// Indices of `scores` the selection picks, lowest first.
    func pick(_ scores: [Float], _ selection: Selection) -> [Int] {
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
        switch selection {
        case let .lowest(n): return Array(order.prefix(max(0, n)))
        case let .below(t): return order.filter { scores[$0] < t }
        }
    }

    /// The group's deletions: the policy's choice, then the limits and the rounding.
    func deletions(_ c: Candidate, _ selection: Selection) -> [Int] {
        if let blocks = c.blocks { return balanced(c, selection, blocks: blocks) }
        var chosen: [Int]
        if let combined = policy.combine(lists: c.members.map { pick($0.scores, selection) }) {
            chosen = combined.sorted { c.combined[$0] != c.combined[$1] ? c.combined[$0] < c.combined[$1] : $0 < $1 }
        } else {
            chosen = pick(c.combined, selection)
        }
        chosen = Array(chosen.prefix(c.limit))
        if budget.roundTo > 1, !chosen.isEmpty {
            let kept = c.group.size - chosen.count
            let rounded = (kept + budget.roundTo - 1) / budget.roundTo * budget.roundTo
            chosen = rounded >= c.group.size ? [] : Array(chosen.prefix(c.group.size - rounded))
        }
        return chosen.sorted()
    }

    /// The deletions of a group split into `blocks` (a grouped convolution's): the same number
    /// `d` from every block. The selection runs in each block on its own (`lowest(n)` takes the
    /// `n / blocks` lowest of every block, for every member under a list policy); `d` is the
    /// fewest the result holds in any block, so only selected channels go, each block's
    /// lowest-scored first. `d` then shrinks until the limit holds and the kept count is a
    /// multiple of `roundTo`.
    func balanced(_ c: Candidate, _ selection: Selection, blocks: [[Int]]) -> [Int] {
        func ranked(_ indices: [Int], by scores: [Float]) -> [Int] {
            indices.sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
        }
        func selectInBlocks(_ scores: [Float]) -> [Int] {
            switch selection {
            case let .lowest(n): return blocks.flatMap { ranked($0, by: scores).prefix(max(0, n) / blocks.count) }
            case .below: return pick(scores, selection)
            }
        }
        let chosen = Set(
            policy.combine(lists: c.members.map { selectInBlocks($0.scores) }) ?? selectInBlocks(c.combined))
        let inBlocks = blocks.map { ranked($0.filter(chosen.contains), by: c.combined) }
        var perBlock = min(
            inBlocks.map(\.count).min() ?? 0, c.limit / blocks.count, (blocks.map(\.count).min() ?? 1) - 1)
        while perBlock > 0, budget.roundTo > 1, (c.group.size - perBlock * blocks.count) % budget.roundTo != 0 {
            perBlock -= 1
        }
        guard perBlock > 0 else { return [] }
        return inBlocks.flatMap { $0.prefix(perBlock) }.sorted()
    }

    func makePlan(
        _ analysis: ChannelAnalysis, _ candidates: [Candidate], _ selection: (Candidate) -> Selection
    ) -> PruningPlan {
        var plan = PruningPlan(template: analysis)
        for c in candidates { plan.groups[c.group.id].delete = deletions(c, selection(c)) }
        return spared(plan, analysis, candidates)
    }

    /// `plan` keeping, in every channel split it would empty, that split's best-scored channel.
    func spared(_ plan: PruningPlan, _ analysis: ChannelAnalysis, _ candidates: [Candidate]) -> PruningPlan {
        var combined: [Int: [Float]] = [:]
        for c in candidates { combined[c.group.id] = c.combined }
        return analysis.sparingEveryTensor(plan) { group, index in
            guard let scores = combined[group], index < scores.count else { return 0 }
            return scores[index]
        }
    }

    /// Every candidate channel, by normalised score (then group and index, for determinism).
    func globalRanking(_ candidates: [Candidate]) -> [(candidate: Int, index: Int)] {
        var all: [(score: Float, candidate: Int, index: Int)] = []
        for (k, c) in candidates.enumerated() {
            for (i, s) in c.normalized.enumerated() { all.append((s, k, i)) }
        }
        all.sort { ($0.score, $0.candidate, $0.index) < ($1.score, $1.candidate, $1.index) }
        return all.map { ($0.candidate, $0.index) }
    }

    /// The plan deleting the first `k` channels of the global ranking (per group: as many of
    /// its lowest as the ranking reaches).
    func planTaking(
        _ k: Int, _ ranking: [(candidate: Int, index: Int)], _ analysis: ChannelAnalysis, _ candidates: [Candidate]
    ) -> PruningPlan {
        planDeleting(counts(taking: k, ranking, candidates.count), analysis, candidates)
    }

    /// How many of each candidate's channels the first `k` of the global ranking reach.
    func counts(taking k: Int, _ ranking: [(candidate: Int, index: Int)], _ candidateCount: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: candidateCount)
        for entry in ranking.prefix(k) { counts[entry.candidate] += 1 }
        return counts
    }

    /// The plan deleting, in every candidate, its `counts[k]` lowest (then limits and rounding).
    func planDeleting(_ counts: [Int], _ analysis: ChannelAnalysis, _ candidates: [Candidate]) -> PruningPlan {
        var plan = PruningPlan(template: analysis)
        for (k, c) in candidates.enumerated() { plan.groups[c.group.id].delete = deletions(c, .lowest(counts[k])) }
        return spared(plan, analysis, candidates)
    }

    /// The smallest prefix of the global ranking whose plan brings `cost` to at most
    /// `fraction` of the original (binary search: deleting more never costs more); with
    /// rounding, then given back what the target still allows (`filledBack`).
    func search(
        _ fraction: Double, cost: KeyPath<Graph, Int>, name: String, _ graph: Graph, _ analysis: ChannelAnalysis,
        _ candidates: [Candidate]
    ) throws -> PruningPlan {
        let ranking = globalRanking(candidates)
        let target = fraction * Double(graph[keyPath: cost])
        func costOf(_ plan: PruningPlan) throws -> Int {
            try surgeon.apply(plan, to: graph, analysis: analysis)[keyPath: cost]
        }
        let most = planTaking(ranking.count, ranking, analysis, candidates)
        let least = try costOf(most)
        guard Double(least) <= target else {
            let share = 100 * Double(least) / Double(max(graph[keyPath: cost], 1))
            let limits =
                budget.roundTo > 1
                ? String(
                    format: "--min-channels %d, --max-ratio %.2f and --round-to %d", budget.minChannels,
                    budget.maxRatio, budget.roundTo)
                : String(format: "--min-channels %d and --max-ratio %.2f", budget.minChannels, budget.maxRatio)
            throw StrategyError.unreachable(
                String(
                    format: "cannot reach %.1f%% of the %@: with %@%@ the most that can be pruned leaves %.1f%%",
                    fraction * 100, name, limits, budget.ignore.isEmpty ? "" : " (and the ignored layers)", share))
        }
        var low = 0, high = ranking.count
        while low < high {
            let mid = (low + high) / 2
            if Double(try costOf(planTaking(mid, ranking, analysis, candidates))) <= target {
                high = mid
            } else {
                low = mid + 1
            }
        }
        let found = counts(taking: low, ranking, candidates.count)
        guard budget.roundTo > 1 else { return planDeleting(found, analysis, candidates) }
        return try filledBack(found, analysis, candidates) { Double(try costOf($0)) <= target }
    }
}
