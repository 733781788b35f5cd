import Layers
import SurgeonCore
import SurgeonStrategies
import SurgeonTestSupport
import XCTest

/// The generic strategy checkers reject deliberately wrong criteria and regularisers (the
/// registry-wide runs are in SurgeonPipelineTests, with the built-in architectures).
final class StrategyCheckerTests: XCTestCase {
    private func models() throws -> [StrategyCheckModel] { try StrategyCheckModel.randomGraphs(seeds: 0..<3) }

    func testACorrectCriterion_passes() throws {
        let report = try checkImportanceCriterion(FilterNormCriterion(order: 2), models: models())
        XCTAssertTrue(report.passed, "\(report)")
        XCTAssertEqual(report.checked, 3)
    }

    func testACriterionWithANaNScore_fails() throws {
        let report = try checkImportanceCriterion(Broken(fault: .nan), models: models(), reportFailures: false)
        XCTAssertFalse(report.passed)
        XCTAssertTrue(report.problems.allSatisfy { $0.contains("score nan for channel 0") }, "\(report)")
        XCTAssertTrue(report.problems.first?.hasPrefix("broken on random graph 0, group ") ?? false, "\(report)")
    }

    func testACriterionWithAWrongCount_fails() throws {
        let report = try checkImportanceCriterion(Broken(fault: .shortList), models: models(), reportFailures: false)
        XCTAssertFalse(report.passed)
        XCTAssertTrue(
            report.problems.allSatisfy {
                $0.range(of: #"\d+ scores for \d+ channels"#, options: .regularExpression) != nil
            },
            "\(report)")
        let groups = try checkImportanceCriterion(
            Broken(fault: .missingGroups), models: models(), reportFailures: false)
        XCTAssertEqual(
            groups.problems.first?.hasPrefix("broken on random graph 0: scores for 0 groups, the model has"), true,
            "\(groups)")
    }

    func testANonDeterministicCriterion_fails() throws {
        let report = try checkImportanceCriterion(Broken(fault: .unseeded), models: models(), reportFailures: false)
        XCTAssertEqual(report.problems.count, 3, "\(report)")
        XCTAssertTrue(
            report.problems.allSatisfy { $0.contains("scoring twice with seed 11 gave different scores") }, "\(report)")
    }

    func testACriterionThatScoresNothing_fails() throws {
        let report = try checkImportanceCriterion(Broken(fault: .nothing), models: models(), reportFailures: false)
        XCTAssertEqual(report.problems, ["broken: no prunable group of any model was scored"])
    }

    func testACriterionThatNeedsData_isGivenData() throws {
        let report = try checkImportanceCriterion(Broken(fault: .none, needsData: true), models: models())
        XCTAssertTrue(report.passed, "\(report)")
    }

    func testTheBuiltinRegularizers_passOnRandomGraphs() throws {
        let report = try checkRegularizer("group-lasso", models: models()) {
            try GroupLassoRegularizer(lambda: 0.1, graph: $0, surgeon: .standard)
        }
        XCTAssertTrue(report.passed, "\(report)")
        XCTAssertGreaterThan(report.checked, 100)
    }

    func testARegularizerWhoseGradientIsOffByAFactor_fails() throws {
        let report = try checkRegularizer("doubled", models: models(), reportFailures: false) { _ in
            Doubled(base: L1GammaRegularizer(lambda: 0.1))
        }
        XCTAssertFalse(report.passed)
        let first = try XCTUnwrap(report.problems.first)
        XCTAssertTrue(first.hasPrefix("doubled on random graph "), first)
        XCTAssertTrue(
            first.contains("weight 'gamma'") && first.contains("gradient 0.2")
                && first.contains("finite difference 0.1"), first)
    }

    func testARegularizerThatMissesWeightsInItsGradient_fails() throws {
        // The penalty covers every kernel, the gradient only the first weight of each layer.
        let report = try checkRegularizer("partial", models: models(), reportFailures: false) { _ in
            Partial(lambda: 0.1)
        }
        XCTAssertTrue(
            report.problems.contains { $0.contains("weight 'bias'") && $0.contains("gradient 0.0") }, "\(report)")
    }

    func testARegularizerWithNoGradient_fails() throws {
        let report = try checkRegularizer("inert", models: models(), reportFailures: false) { _ in Inert() }
        XCTAssertEqual(report.problems, ["inert: the gradient is zero on every weight of every model"])
    }
}

/// A criterion with a chosen fault (scores are the channel indices otherwise).
private struct Broken: ImportanceCriterion {
    enum Fault { case none, nan, shortList, missingGroups, unseeded, nothing }
    var fault: Fault
    var needsData = false
    var name: String { "broken" }
    var summary: String { "wrong on purpose" }

    func scores(_ context: ScoringContext) throws -> [[MemberScores]] {
        if needsData, context.data == nil { throw StrategyError.needsData(criterion: name) }
        if fault == .missingGroups { return [] }
        var random = SystemRandomNumberGenerator()
        return context.analysis.groups.map { group in
            if fault == .nothing { return [] }
            var scores = (0..<group.size).map(Float.init)
            switch fault {
            case .nan: scores[0] = .nan
            case .shortList: scores.removeLast()
            case .unseeded: scores = scores.map { _ in Float.random(in: 0..<1, using: &random) }
            default: break
            }
            return [MemberScores(layer: "index", scores: scores)]
        }
    }
}

/// A regulariser whose gradient is twice its penalty's.
private struct Doubled: Regularizer {
    var base: any Regularizer
    var name: String { "doubled" }
    func apply(to graph: Graph, gradients: inout [[Tensor]]) -> Double {
        var own = gradients.map { $0.map { Tensor(shape: $0.shape) } }
        let penalty = base.apply(to: graph, gradients: &own)
        for i in gradients.indices { for k in gradients[i].indices { gradients[i][k].add(own[i][k].map { $0 * 2 }) } }
        return penalty
    }
}

/// lambda * sum |w| over every trainable weight, with a gradient for the first weight of each layer only.
private struct Partial: Regularizer {
    var lambda: Float
    var name: String { "partial" }
    func apply(to graph: Graph, gradients: inout [[Tensor]]) -> Double {
        var penalty = 0.0
        for (i, node) in graph.nodes.enumerated() {
            for k in 0..<min(node.layer.trainableWeightCount, gradients[i].count) {
                let w = node.layer.weights[k]
                penalty += Double(lambda) * w.scalars.reduce(0.0) { $0 + Double(abs($1)) }
                if k == 0 { for j in 0..<w.count { gradients[i][k].scalars[j] += w.scalars[j] > 0 ? lambda : -lambda } }
            }
        }
        return penalty
    }
}

/// No penalty, no gradient.
private struct Inert: Regularizer {
    var name: String { "inert" }
    func apply(to graph: Graph, gradients: inout [[Tensor]]) -> Double { 0 }
}
