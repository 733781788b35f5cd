import Layers
import SurgeonCore
import SurgeonStrategies
import SurgeonTestSupport
import XCTest

/// Scores given by hand, so that budgets and policies can be checked exactly.
struct FixedCriterion: ImportanceCriterion {
    var name: String { "fixed" }
    var summary: String { "scores given by the test" }
    /// Member scores by the layer name of the group's first producer.
    let scores: [String: [MemberScores]]

    func scores(_ context: ScoringContext) throws -> [[MemberScores]] {
        context.analysis.groups.map { group in
            guard let first = group.members.first(where: { $0.role == .producer }) else { return [] }
            return scores[first.layer] ?? []
        }
    }
}

final class PolicyAndBudgetTests: XCTestCase {
    /// The origin write-up's lists for a residual Add of conv1 and conv2 (48 channels each).
    static let conv1List = [4, 6, 9, 11, 12, 14, 16, 26, 30, 36, 38, 42, 45]
    static let conv2List = [6, 7, 9, 11, 12, 13, 14, 16, 24, 29, 34]

    /// conv1 -+-> add -> conv3 -> gap -> dense;  conv2 -+
    private func residual() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [4, 4, 3]), name: "input")
        let c1 = b.add(Conv2D(filters: 48, kernelSize: [1, 1]), name: "conv1", inputs: [x])
        let c2 = b.add(Conv2D(filters: 48, kernelSize: [1, 1]), name: "conv2", inputs: [x])
        let s = b.add(Add(), name: "add", inputs: [c1, c2])
        let c3 = b.add(Conv2D(filters: 16, kernelSize: [1, 1]), name: "conv3", inputs: [s])
        let g = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [c3])
        let d = b.add(Dense(units: 3), name: "dense", inputs: [g])
        return try b.build(outputs: [d])
    }

    /// Scores that are 0 on `list` and 1 elsewhere: a threshold of 0.5 gives back the list.
    private func member(_ layer: String, _ list: [Int], size: Int = 48) -> MemberScores {
        MemberScores(layer: layer, scores: (0..<size).map { list.contains($0) ? 0 : 1 })
    }

    private func plan(
        _ policy: any GroupPolicy, _ budget: Budget, scores: [String: [MemberScores]], graph: Graph? = nil
    ) throws -> PruningPlan {
        let g = try graph ?? residual()
        return try Planner(
            criterion: FixedCriterion(scores: scores), policy: policy, budget: budget, surgeon: .standard
        ).plan(g).plan
    }

    private func deletion(_ plan: PruningPlan, of layer: String) -> [Int] {
        plan.groups.first { $0.members.contains { $0.layer == layer && $0.role == .producer } }?.delete ?? []
    }

    // MARK: - Policies

    func testIntersection_ofTheWriteUpsLists() throws {
        let scores = ["conv1": [member("conv1", Self.conv1List), member("conv2", Self.conv2List)]]
        let p = try plan(IntersectionPolicy(), Budget(.threshold(0.5)), scores: scores)
        // The write-up quotes [6 9 11 12 14]; 16 is in both lists too, so the intersection has it.
        XCTAssertEqual(deletion(p, of: "conv1"), [6, 9, 11, 12, 14, 16])
        XCTAssertEqual(IntersectionPolicy().combine(lists: [Self.conv1List, Self.conv2List]), [6, 9, 11, 12, 14, 16])
    }

    func testDeepest_takesTheDeeperLayersList() throws {
        let scores = ["conv1": [member("conv1", Self.conv1List), member("conv2", Self.conv2List)]]
        let p = try plan(DeepestPolicy(), Budget(.threshold(0.5)), scores: scores)
        XCTAssertEqual(deletion(p, of: "conv1"), Self.conv2List)
        XCTAssertEqual(DeepestPolicy().combine(lists: [Self.conv1List, Self.conv2List]), Self.conv2List)
    }

    func testMobileNetBlockLists_intersectionAndDepthwiseList() {
        let pw1 = [0, 4, 6, 8, 12, 13, 15, 16, 17, 19, 20, 23, 24, 30, 39, 40, 42, 44]
        let dw = [1, 5, 8, 15, 16, 17, 19, 20, 21, 24, 32, 34, 45, 47]
        let pw2 = [4, 5, 16, 17, 19, 20, 23, 24, 28, 30, 32, 34, 46]
        XCTAssertEqual(IntersectionPolicy().combine(lists: [pw1, dw, pw2]), [16, 17, 19, 20, 24])
    }

    func testReductions_combineMemberScores() {
        let members = [MemberScores(layer: "a", scores: [1, 4]), MemberScores(layer: "b", scores: [3, 0])]
        XCTAssertEqual(ReductionPolicy(.mean).combinedScores(members), [2, 2])
        XCTAssertEqual(ReductionPolicy(.sum).combinedScores(members), [4, 4])
        XCTAssertEqual(ReductionPolicy(.max).combinedScores(members), [3, 4])
    }

    // MARK: - Budgets

    private var ramp: [String: [MemberScores]] {
        // conv1's group: scores 0..47; conv3's group: scores 100..115 (normalised: k/47 vs (100+k)/115).
        [
            "conv1": [MemberScores(layer: "conv1", scores: (0..<48).map(Float.init))],
            "conv3": [MemberScores(layer: "conv3", scores: (0..<16).map { Float(100 + $0) })],
        ]
    }

    func testLocalRatio_deletesThatShareOfEveryGroup() throws {
        let p = try plan(ReductionPolicy(.mean), Budget(.ratio(0.25, global: false)), scores: ramp)
        XCTAssertEqual(deletion(p, of: "conv1"), Array(0..<12))
        XCTAssertEqual(deletion(p, of: "conv3"), Array(0..<4))
    }

    func testGlobalRatio_ranksNormalisedScoresAcrossGroups() throws {
        // 16 of 64 channels: conv1's normalised scores k/47 are all below conv3's (100+k)/115 >= 0.87
        // up to k = 40, so all 16 come from conv1.
        let p = try plan(ReductionPolicy(.mean), Budget(.ratio(0.25, global: true)), scores: ramp)
        XCTAssertEqual(deletion(p, of: "conv1"), Array(0..<16))
        XCTAssertEqual(deletion(p, of: "conv3"), [])
    }

    func testThreshold_isGlobalAndKeepsTheMinimum() throws {
        let p = try plan(ReductionPolicy(.mean), Budget(.threshold(1000), minChannels: 3, maxRatio: 1), scores: ramp)
        XCTAssertEqual(deletion(p, of: "conv1").count, 45)
        XCTAssertEqual(deletion(p, of: "conv3").count, 13)
        let capped = try plan(ReductionPolicy(.mean), Budget(.threshold(1000), maxRatio: 0.5), scores: ramp)
        XCTAssertEqual(deletion(capped, of: "conv1").count, 24)
    }

    func testRoundTo_keepsAMultipleExactly() throws {
        let p = try plan(ReductionPolicy(.mean), Budget(.ratio(0.3, global: false), roundTo: 8), scores: ramp)
        // conv1: 14 of 48 would leave 34 -> keep 40; conv3: 4 of 16 would leave 12 -> keep 16 (nothing).
        XCTAssertEqual(deletion(p, of: "conv1"), Array(0..<8))
        XCTAssertEqual(deletion(p, of: "conv3"), [])
    }

    func testIgnore_leavesTheLayersGroupAlone() throws {
        let p = try plan(ReductionPolicy(.mean), Budget(.ratio(0.5, global: false), ignore: ["conv2"]), scores: ramp)
        XCTAssertEqual(deletion(p, of: "conv1"), [])
        XCTAssertEqual(deletion(p, of: "conv3").count, 8)
    }

    func testTargetMACs_reachesTheTargetWithTheFewestDeletions() throws {
        let graph = try residual()
        let p = try plan(ReductionPolicy(.mean), Budget(.macs(0.6)), scores: ramp, graph: graph)
        let pruned = try Surgeon.standard.apply(p, to: graph)
        XCTAssertLessThanOrEqual(Double(pruned.macCount), 0.6 * Double(graph.macCount))
        // One channel fewer would miss the target.
        var fewer = p
        let g = fewer.groups.firstIndex { !$0.delete.isEmpty && $0.members.contains { $0.layer == "conv1" } }!
        fewer.groups[g].delete.removeLast()
        XCTAssertGreaterThan(
            Double(try Surgeon.standard.apply(fewer, to: graph).macCount), 0.6 * Double(graph.macCount))
    }

    func testUnreachableTarget_saysWhatTheLimitsAllow() throws {
        XCTAssertThrowsError(try plan(ReductionPolicy(.mean), Budget(.macs(0.01), maxRatio: 0.5), scores: ramp)) {
            error in
            XCTAssertTrue(
                "\(error)".hasPrefix(
                    "cannot reach 1.0% of the MACs: with --min-channels 1 and --max-ratio 0.50 the most that can be "
                        + "pruned leaves"
                ), "\(error)")
        }
    }

    func testUnreachableTarget_namesTheRounding() throws {
        XCTAssertThrowsError(
            try plan(ReductionPolicy(.mean), Budget(.macs(0.01), maxRatio: 0.5, roundTo: 16), scores: ramp)
        ) { error in
            XCTAssertTrue(
                "\(error)".hasPrefix(
                    "cannot reach 1.0% of the MACs: with --min-channels 1, --max-ratio 0.50 and --round-to 16 the most "
                        + "that can be pruned leaves"
                ), "\(error)")
        }
    }

    /// input -> conv1 -> conv2 -> conv3 (64 channels each, 3x3) -> gap -> dense: three groups
    /// whose 16-channel steps are each several percent of the MACs.
    private func chain() throws -> Graph {
        var b = GraphBuilder()
        var x = b.add(InputLayer(shape: [8, 8, 3]), name: "input")
        for name in ["conv1", "conv2", "conv3"] {
            x = b.add(Conv2D(filters: 64, kernelSize: [3, 3], padding: .same), name: name, inputs: [x])
        }
        let g = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [x])
        let d = b.add(Dense(units: 3), name: "dense", inputs: [g])
        return try b.build(outputs: [d])
    }

    /// Rounded to 16, the first prefix of the ranking under the target can land far under it;
    /// the planner then gives channels back, 16 at a time, while the target holds: the plan is
    /// within the target, every pruned group keeps a multiple of 16, and giving any pruned group
    /// 16 more channels would miss the target.
    func testTargetMACs_roundedStepsGiveBackWhatTheTargetAllows() throws {
        let graph = try chain()
        // Interleaved scores: conv1's channel k scores 3k, conv2's 3k+1, conv3's 3k+2, so the
        // global ranking takes one channel from each group in turn.
        let scores = Dictionary(
            uniqueKeysWithValues: ["conv1", "conv2", "conv3"].enumerated().map { i, name in
                (name, [MemberScores(layer: name, scores: (0..<64).map { Float(3 * $0 + i) })])
            })
        let base = Double(graph.macCount)
        for target in [0.3, 0.45, 0.6, 0.75] {
            let budget = Budget(.macs(target), maxRatio: 0.9, roundTo: 16)
            let p = try plan(ReductionPolicy(.sum), budget, scores: scores, graph: graph)
            let share = Double(try Surgeon.standard.apply(p, to: graph).macCount) / base
            XCTAssertLessThanOrEqual(share, target, "target \(target)")
            for (g, group) in p.groups.enumerated() where !group.delete.isEmpty {
                XCTAssertEqual((group.size - group.delete.count) % 16, 0, "target \(target), group \(g)")
                var more = p
                more.groups[g].delete = Array(group.delete.dropFirst(16))
                let grown = Double(try Surgeon.standard.apply(more, to: graph).macCount) / base
                XCTAssertGreaterThan(
                    grown, target, "target \(target): group \(g) could keep 16 more (\(share) -> \(grown))")
            }
        }
    }

    func testSteps_splitTheBudgetEqually() {
        let b = Budget(.macs(0.5))
        XCTAssertEqual(b.step(1, of: 2, costNow: 100, costOriginal: 100).target, .macs(0.75))
        XCTAssertEqual(b.step(2, of: 2, costNow: 75, costOriginal: 100).target, .macs(0.5 / 0.75))
        guard
            case let .ratio(r, _) = Budget(.ratio(0.75, global: true)).step(1, of: 2, costNow: 1, costOriginal: 1)
                .target
        else {
            return XCTFail("not a ratio")
        }
        XCTAssertEqual(r, 0.5, accuracy: 1e-12)
    }

    func testBadBudgets_areRefused() {
        XCTAssertThrowsError(try Budget(.ratio(1.2, global: false)).validate()) {
            XCTAssertEqual(
                "\($0)", "the ratio (--ratio, ratio:): 1.2 is out of range (expected a finite number in 0...0.999999)")
        }
        XCTAssertThrowsError(try Budget(.macs(0), roundTo: 8).validate()) {
            XCTAssertEqual(
                "\($0)",
                "the MACs target (--target-macs, target_macs:): 0 is out of range (expected a finite number in 1e-09...1)"
            )
        }
        XCTAssertThrowsError(try Budget(.threshold(1), minChannels: 0).validate()) {
            XCTAssertEqual(
                "\($0)", "--min-channels (min_channels:): 0 is out of range (expected an integer in 1...2^20)")
        }
    }

    // MARK: - A strategy from outside the project

    func testUserDefinedCriterion_isUsableByName() throws {
        struct LastChannelsFirst: ImportanceCriterion {
            var name: String { "last-first" }
            var summary: String { "deletes the highest-numbered channels" }
            func scores(_ context: ScoringContext) throws -> [[MemberScores]] {
                context.analysis.groups.map { [MemberScores(layer: "index", scores: (0..<$0.size).map { Float(-$0) })] }
            }
        }
        var registry = StrategyRegistry.standard
        try registry.register(criterion: LastChannelsFirst())
        XCTAssertThrowsError(try registry.register(criterion: LastChannelsFirst())) {
            XCTAssertEqual("\($0)", "a criterion named 'last-first' is already registered")
        }
        let planner = Planner(
            criterion: try registry.criterion("last-first"), policy: try registry.policy("mean"),
            budget: Budget(.ratio(0.25, global: false)), surgeon: .standard)
        let p = try planner.plan(residual()).plan
        XCTAssertEqual(deletion(p, of: "conv1"), Array(36..<48))
        XCTAssertThrowsError(try StrategyRegistry.standard.criterion("last-first")) {
            XCTAssertEqual(
                "\($0)", "unknown criterion 'last-first'; supported: bn-gamma, norm, apoz, taylor, random, l1, l2")
        }
    }
}
