import Foundation
import Layers
import SurgeonCore
import SurgeonPipeline
import SurgeonStrategies
import SurgeonTestSupport
import XCTest

/// Every registered strategy passes the generic checkers (`checkImportanceCriterion`,
/// `checkRegularizer`) on seeded random graphs and the small built-in architectures; the
/// `exec` criterion passes them too, with the Python example of `examples/`.
final class StrategyConformanceTests: XCTestCase {
    /// Random graphs, and vgg, res and mobilenetv2 at a small size with random weights.
    private func models(randomGraphs: Int = 4) throws -> [StrategyCheckModel] {
        var models = try StrategyCheckModel.randomGraphs(seeds: 0..<UInt64(randomGraphs))
        for name in ["vgg", "res", "mobilenetv2"] {
            var graph = try ArchitectureRegistry.standard.architecture(named: name)
                .build(ArchitectureOptions(inputShape: [16, 16, 1], classes: 4, width: 0.25, seed: 1))
            try randomizeWeights(&graph, seed: 2)
            models.append(StrategyCheckModel(name, graph))
        }
        return models
    }

    func testEveryRegisteredCriterion_passesTheCriterionChecker() throws {
        let registry = StrategyRegistry.standard
        let models = try models()
        for name in registry.names(.criterion) {
            let criterion = try registry.criterion(StrategySpec(name))
            try checkImportanceCriterion(criterion, models: models)
        }
        XCTAssertEqual(registry.names(.criterion).count, 7, "bn-gamma, norm, apoz, taylor, random, l1, l2")
    }

    func testEveryRegisteredRegularizer_passesTheRegularizerChecker() throws {
        let registry = StrategyRegistry.standard
        let models = try models(randomGraphs: 2)
        // A regulariser aimed at a cut is checked in its first epoch's form, against a half cut.
        let cut = Planner(
            criterion: BNGammaCriterion(), policy: ReductionPolicy(.mean), budget: Budget(.ratio(0.5, global: false)),
            surgeon: .standard)
        for entry in registry.regularizers {
            let report = try checkRegularizer(entry.name, models: models) {
                try registry.regularizer(StrategySpec(entry.name), lambda: 0.1, graph: $0, surgeon: .standard, cut: cut)
                    .forEpoch(0, of: 1, graph: $0)
            }
            XCTAssertGreaterThan(report.checked, 20, entry.name)
        }
        XCTAssertEqual(registry.regularizers.map(\.name), ["l1-gamma", "l1-filters", "group-lasso", "growing-lasso"])
    }

    func testEveryRegisteredPolicy_combinesMembersIntoOneScorePerChannel() throws {
        let members = [MemberScores(layer: "a", scores: [1, 2, 3]), MemberScores(layer: "b", scores: [3, 0, 1])]
        for name in StrategyRegistry.standard.names(.policy) {
            let combined = try StrategyRegistry.standard.policy(StrategySpec(name)).combinedScores(members)
            XCTAssertEqual(combined.count, 3, name)
            XCTAssertTrue(combined.allSatisfy(\.isFinite), name)
        }
    }

    // MARK: - exec, with the Python example

    private var example: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("examples/criterion_l1.py").path
    }

    private func requirePython() throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import numpy"]
        probe.standardError = FileHandle.nullDevice
        do { try probe.run() } catch { throw XCTSkip("python3 is not available") }
        probe.waitUntilExit()
        if probe.terminationStatus != 0 { throw XCTSkip("python3 with numpy is not available") }
    }

    func testTheExecCriterion_passesTheCriterionCheckerWithThePythonExample() throws {
        try requirePython()
        let criterion = try StrategyRegistry.standardWithExec.criterion(StrategySpec("exec:python3 \(example)"))
        let report = try checkImportanceCriterion(criterion, models: models(randomGraphs: 2))
        XCTAssertEqual(report.checked, 5)
    }

    func testThePythonExample_matchesTheBuiltinNormP1() throws {
        try requirePython()
        let exec = try StrategyRegistry.standardWithExec.criterion(StrategySpec("exec:python3 \(example)"))
        let norm = try StrategyRegistry.standard.criterion("norm:p=1"), mean = ReductionPolicy(.mean)
        for model in try models(randomGraphs: 2) {
            let context = ScoringContext(
                graph: model.graph, analysis: try Surgeon.standard.analyze(model.graph), surgeon: .standard)
            let expected = try norm.scores(context), actual = try exec.scores(context)
            for group in context.analysis.prunableGroups where !expected[group.id].isEmpty {
                let want = mean.combinedScores(expected[group.id]), got = mean.combinedScores(actual[group.id])
                XCTAssertEqual(got.count, want.count, "\(model.label), group \(group.id)")
                for (g, w) in zip(got, want) {
                    XCTAssertEqual(g, w, accuracy: 1e-5 * max(1, abs(w)), "\(model.label), group \(group.id)")
                }
            }
            // The same plans, from the scores the command gave (run once).
            for budget in [Budget(.ratio(0.3, global: false)), Budget(.ratio(0.3, global: true)), Budget(.macs(0.6))] {
                let planned = { (c: any ImportanceCriterion) in
                    try Planner(criterion: c, policy: mean, budget: budget, surgeon: .standard).plan(model.graph).plan
                }
                XCTAssertEqual(
                    try planned(Given(scores: actual)), try planned(norm), "\(model.label), \(budget.target)")
            }
        }
    }

    // MARK: - Registration

    func testRegisteringTheBuiltinArchitecturesOrExecTwice_isLoud() {
        var architectures = ArchitectureRegistry.standard
        XCTAssertThrowsError(try architectures.registerBuiltins()) {
            XCTAssertEqual("\($0)", "a architecture named 'mobilenetv2' is already registered")
        }
        var fresh = ArchitectureRegistry()
        XCTAssertNoThrow(try fresh.registerBuiltins())
        XCTAssertEqual(fresh.names, ArchitectureRegistry.standard.names)
        var strategies = StrategyRegistry.standardWithExec
        XCTAssertThrowsError(try strategies.registerExec()) {
            XCTAssertEqual("\($0)", "a criterion named 'exec' is already registered")
        }
        XCTAssertEqual(
            Registries().strategies.names(.criterion),
            ["bn-gamma", "norm", "apoz", "taylor", "random", "exec", "l1", "l2"])
    }
}

/// Scores computed beforehand.
private struct Given: ImportanceCriterion {
    var scores: [[MemberScores]]
    var name: String { "given" }
    var summary: String { "scores computed beforehand" }
    func scores(_ context: ScoringContext) throws -> [[MemberScores]] { scores }
}
