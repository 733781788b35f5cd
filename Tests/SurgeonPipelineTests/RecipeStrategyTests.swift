import SurgeonCore
import SurgeonPipeline
import SurgeonStrategies
import XCTest

/// Strategies in recipes: `NAME[:key=value,...]` strings or `{name: NAME, key: value}` maps,
/// refused at the line of the offending key.
final class RecipeStrategyTests: XCTestCase {
    private let parser = RecipeParser(source: "r.yaml")

    private func pruning(_ settings: String) throws -> Recipe.Pruning {
        let recipe = try parser.parse("model: {architecture: vgg}\nstages:\n  - prune: \(settings)")
        guard case let .prune(p) = recipe.stages[0] else { throw PipelineError("not a prune stage") }
        return p
    }

    func testAStrategyWithParameters_isAStringOrAMap() throws {
        XCTAssertEqual(
            try pruning("{strategy: 'taylor:batches=8', ratio: 0.3}").strategy, StrategySpec("taylor:batches=8"))
        let map = try pruning("{strategy: {name: taylor, batches: 8}, ratio: 0.3}").strategy
        XCTAssertEqual(map, StrategySpec(name: "taylor", values: [.init("batches", "8")]))
        XCTAssertEqual((try StrategyRegistry.standard.criterion(map) as? TaylorCriterion)?.batches, 8)
        XCTAssertEqual(try pruning("{strategy: l2, policy: {name: max}, ratio: 0.3}").policy, StrategySpec(name: "max"))
    }

    func testExec_takesItsCommandInEitherForm() throws {
        XCTAssertEqual(
            try pruning("{strategy: 'exec:python3 score.py --k 1,2', ratio: 0.3}").strategy.text,
            "python3 score.py --k 1,2")
        let map = try pruning(
            "\n      strategy:\n        name: exec\n        command: python3 score.py --k 1,2\n        timeout: 120\n  "
                + "    ratio: 0.3"
        )
        .strategy
        let exec = try XCTUnwrap(try StrategyRegistry.standardWithExec.criterion(map) as? ExecCriterion)
        XCTAssertEqual(exec.command, "python3 score.py --k 1,2")
        XCTAssertEqual(exec.timeout, 120)
    }

    func testARegularizerSpec_isChecked() throws {
        let recipe = try parser.parse(
            "model: {architecture: vgg}\nstages:\n  - sparse: {regularizer: {name: group-lasso}, lambda: 0.01}")
        guard case let .sparse(_, regularizer, _) = recipe.stages[0] else { return XCTFail("not sparse") }
        XCTAssertEqual(regularizer, StrategySpec(name: "group-lasso"))
    }

    func testBadParameters_areRefusedAtTheirLine() {
        let cases: [(String, String)] = [
            (
                "{strategy: 'taylor:batchs=8', ratio: 0.3}",
                "r.yaml:3: unknown parameter 'batchs' of criterion 'taylor'; accepted: batches (an integer in "
                    + "1...100000, default 4)"
            ),
            (
                "\n      strategy:\n        name: norm\n        p: 3\n      ratio: 0.3",
                "r.yaml:6: parameter 'p' of criterion 'norm' must be an integer in 1...2, got 3; accepted: p (an "
                    + "integer in 1...2, default 1)"
            ),
            (
                "{strategy: {batches: 8}, ratio: 0.3}",
                "r.yaml:3: a criterion given as a map needs 'name', e.g. {name: taylor, batches: 8}"
            ),
            (
                "{strategy: {name: taylor, batches: [8]}, ratio: 0.3}",
                "r.yaml:3: 'batches' of the criterion takes one value, not a list or a map"
            ),
            (
                "{strategy: [taylor], ratio: 0.3}",
                "r.yaml:3: a criterion is NAME, NAME:key=value,... or a map {name: NAME, key: value, ...}"
            ),
            (
                "{strategy: exec, ratio: 0.3}",
                "r.yaml:3: criterion 'exec' needs parameter 'command'; accepted: timeout (a number in 0.001...86400, "
                    + "default 60), "
                    + "command (text to the end of the spec, required)"
            ),
            (
                "{policy: 'mean:k=1', ratio: 0.3}",
                "r.yaml:3: unknown parameter 'k' of policy 'mean'; it takes no parameters"
            ),
        ]
        for (settings, message) in cases {
            XCTAssertThrowsError(try pruning(settings), settings) { XCTAssertEqual("\($0)", message, settings) }
        }
        XCTAssertThrowsError(
            try parser.parse("model: {architecture: vgg}\nstages:\n  - sparse: {regularizer: l2-gamma}")
        ) {
            XCTAssertEqual(
                "\($0)", "r.yaml:3: unknown regularizer 'l2-gamma'; supported: l1-gamma, l1-filters, group-lasso, growing-lasso")
        }
    }
}
