import Layers
import SurgeonCore
import SurgeonStrategies
import SurgeonTestSupport
import XCTest

/// Specs (`NAME:key=value,...` and the map form), declared parameters and their refusals.
final class StrategyParameterTests: XCTestCase {
    private let registry = StrategyRegistry.standard

    private func refusal(
        _ spec: StrategySpec, _ kind: StrategyKind = .criterion, file: StaticString = #filePath, line: UInt = #line
    ) -> String {
        do {
            try registry.validate(spec, as: kind)
            XCTFail("'\(spec)' was accepted", file: file, line: line)
            return ""
        } catch { return "\(error)" }
    }

    func testParameters_reachTheStrategy() throws {
        XCTAssertEqual((try registry.criterion("taylor:batches=8") as? TaylorCriterion)?.batches, 8)
        XCTAssertEqual((try registry.criterion("taylor") as? TaylorCriterion)?.batches, 4, "the default")
        XCTAssertEqual(
            (try registry.criterion(StrategySpec(name: "taylor", values: [.init("batches", "2")])) as? TaylorCriterion)?
                .batches, 2)
        XCTAssertEqual((try registry.criterion("norm:p=2") as? FilterNormCriterion)?.order, 2)
        XCTAssertEqual((try registry.criterion("norm") as? FilterNormCriterion)?.order, 1, "the default")
        XCTAssertEqual(
            (try registry.criterion("norm: p = 2") as? FilterNormCriterion)?.order, 2, "spaces around keys and values")
    }

    func testL1AndL2_areAliasesOfOneNormCriterion() throws {
        XCTAssertEqual(registry.criteria.map(\.name), ["bn-gamma", "norm", "apoz", "taylor", "random"])
        XCTAssertEqual(registry.names(.criterion), ["bn-gamma", "norm", "apoz", "taylor", "random", "l1", "l2"])
        XCTAssertEqual((try registry.criterion("l1") as? FilterNormCriterion)?.order, 1)
        XCTAssertEqual((try registry.criterion("l2") as? FilterNormCriterion)?.order, 2)
        XCTAssertEqual(try registry.criterion("l2").spec, "norm:p=2")
    }

    func testNormP1_givesExactlyTheL1Scores() throws {
        for model in try StrategyCheckModel.randomGraphs(seeds: 0..<4) {
            let context = ScoringContext(
                graph: model.graph, analysis: try Surgeon.standard.analyze(model.graph), surgeon: .standard)
            let l1 = try FilterNormCriterion(order: 1).scores(context)
            XCTAssertEqual(try registry.criterion("norm:p=1").scores(context), l1, model.label)
            XCTAssertEqual(try registry.criterion("l1").scores(context), l1, model.label)
        }
    }

    func testTaylorBatches_changeHowMuchDataIsRead() throws {
        let model = try StrategyCheckModel.randomGraphs(seeds: 3..<4)[0]
        let data = try randomData(for: model.graph, samples: 8, seed: 1)
        let context = ScoringContext(
            graph: model.graph, analysis: try Surgeon.standard.analyze(model.graph), surgeon: .standard,
            data: data, batchSize: 2)
        let four = try TaylorCriterion().scores(context)
        XCTAssertEqual(try registry.criterion("taylor:batches=4").scores(context), four)
        XCTAssertNotEqual(try registry.criterion("taylor:batches=1").scores(context), four)
    }

    func testBadParameters_areRefusedByNameWithTheAcceptedOnes() {
        let cases: [(StrategySpec, String)] = [
            (
                "taylor:batchs=8",
                "unknown parameter 'batchs' of criterion 'taylor'; accepted: batches (an integer in 1...100000, "
                    + "default 4)"
            ),
            (
                "norm:p=3",
                "parameter 'p' of criterion 'norm' must be an integer in 1...2, got 3; accepted: p (an integer in "
                    + "1...2, default 1)"
            ),
            (
                "norm:p=two",
                "parameter 'p' of criterion 'norm' takes an integer in 1...2, got 'two'; accepted: p (an integer in "
                    + "1...2, default 1)"
            ),
            (
                "norm:p=1.5",
                "parameter 'p' of criterion 'norm' takes an integer in 1...2, got '1.5'; accepted: p (an integer in "
                    + "1...2, default 1)"
            ),
            (
                "norm:p=1,p=2",
                "parameter 'p' of criterion 'norm' is given twice; accepted: p (an integer in 1...2, default 1)"
            ),
            (
                "l1:p=2",
                "parameter 'p' of criterion 'l1' (norm:p=1) is given twice; accepted: p (an integer in 1...2, default "
                    + "1)"
            ),
            ("bn-gamma:scale=2", "unknown parameter 'scale' of criterion 'bn-gamma'; it takes no parameters"),
            (
                "norm:",
                "'norm:' is not NAME or NAME:key=value,...: nothing follows ':'; give key=value pairs or leave out the "
                    + "':'"
            ),
            ("norm:p", "'norm:p' is not NAME or NAME:key=value,...: 'p' is not key=value"),
            ("norm:=1", "'norm:=1' is not NAME or NAME:key=value,...: '=1' is not key=value"),
            ("magic:x=1", "unknown criterion 'magic'; supported: bn-gamma, norm, apoz, taylor, random, l1, l2"),
            (
                StrategySpec(name: "taylor", values: [.init("batches", "0")]),
                "parameter 'batches' of criterion 'taylor' must be an integer in 1...100000, got 0; accepted: batches "
                    + "(an integer in 1...100000, default 4)"
            ),
        ]
        for (spec, message) in cases { XCTAssertEqual(refusal(spec), message, "\(spec)") }
        XCTAssertEqual(
            refusal("median", .policy), "unknown policy 'median'; supported: mean, sum, max, intersection, deepest")
        XCTAssertEqual(
            refusal("l1-gamma:lambda=1", .regularizer),
            "unknown parameter 'lambda' of regularizer 'l1-gamma'; it takes no parameters")
    }

    func testTrailingText_takesTheRestOfTheSpecVerbatim() throws {
        let entry = CriterionEntry(
            name: "run", summary: "a command",
            parameters: [
                StrategyParameter("timeout", .number(0.001...100), default: .number(60), summary: "seconds"),
                StrategyParameter("command", .trailingText, default: nil, summary: "the command"),
            ]
        ) { arguments throws(StrategySpecError) in
            RandomCriterion()
        }
        var registry = StrategyRegistry()
        try registry.register(entry)
        func arguments(_ spec: StrategySpec) throws -> [String: StrategyValue] {
            try registry.resolve(spec, in: registry.criteria).arguments.values
        }
        XCTAssertEqual(
            try arguments("run:python3 s.py --ks 1,2 --at a:b=c"),
            ["timeout": .number(60), "command": .text("python3 s.py --ks 1,2 --at a:b=c")])
        XCTAssertEqual(
            try arguments("run:timeout=5,python3 s.py"), ["timeout": .number(5), "command": .text("python3 s.py")])
        XCTAssertEqual(try arguments("run:timeout=5,command=a,b"), ["timeout": .number(5), "command": .text("a,b")])
        XCTAssertEqual(
            try arguments("run:FOO=1 ./s.sh"), ["timeout": .number(60), "command": .text("FOO=1 ./s.sh")],
            "a key that is not a parameter starts the command")
        XCTAssertEqual(
            try arguments(StrategySpec(name: "run", values: [.init("command", "a, b"), .init("timeout", "2")])),
            ["timeout": .number(2), "command": .text("a, b")])
        XCTAssertThrowsError(try arguments("run:timeout=5")) {
            XCTAssertEqual(
                "\($0)",
                "criterion 'run' needs parameter 'command'; accepted: timeout (a number in 0.001...100, default 60), "
                    + "command (text to the end of the spec, required)")
        }
    }

    func testSpecs_printAsTheyAreWritten() {
        XCTAssertEqual("\(StrategySpec("taylor:batches=8"))", "taylor:batches=8")
        XCTAssertEqual("\(StrategySpec(name: "norm", values: [.init("p", "2")]))", "norm:p=2")
        XCTAssertEqual(StrategySpec("exec:a:b").name, "exec")
        XCTAssertEqual(StrategySpec("exec:a:b").text, "a:b")
    }

    // MARK: - Extension strategies with parameters

    func testUserPolicyAndRegularizer_takeParameters() throws {
        struct Quantile: GroupPolicy {
            var q: Double
            var name: String { "quantile" }
            var summary: String { "the q-quantile of the members' scores" }
            func combinedScores(_ members: [MemberScores]) -> [Float] { members.first?.scores ?? [] }
        }
        var registry = StrategyRegistry.standard
        try registry.register(
            PolicyEntry(
                name: "quantile", summary: "the q-quantile",
                parameters: [StrategyParameter("q", .number(0...1), default: .number(0.5), summary: "the quantile")]
            ) { arguments throws(StrategySpecError) in Quantile(q: try arguments.number("q")) })
        try registry.register(
            RegularizerEntry(
                name: "scaled-gamma", summary: "l1-gamma times a factor",
                parameters: [StrategyParameter("factor", .integer(1...10), default: .integer(1), summary: "the factor")]
            ) { arguments, lambda, _, _ in L1GammaRegularizer(lambda: lambda * Float(try arguments.integer("factor"))) }
        )
        XCTAssertEqual((try registry.policy("quantile:q=0.9") as? Quantile)?.q, 0.9)
        let graph = try StrategyCheckModel.randomGraphs(seeds: 0..<1)[0].graph
        let r = try registry.regularizer("scaled-gamma:factor=3", lambda: 0.5, graph: graph, surgeon: .standard)
        XCTAssertEqual((r as? L1GammaRegularizer)?.lambda, 1.5)
        XCTAssertThrowsError(
            try registry.regularizer("scaled-gamma:factor=0", lambda: 0.5, graph: graph, surgeon: .standard)
        ) {
            XCTAssertEqual(
                "\($0)",
                "parameter 'factor' of regularizer 'scaled-gamma' must be an integer in 1...10, got 0; "
                    + "accepted: factor (an integer in 1...10, default 1)")
        }
    }

    func testAFactoryReadingAnUndeclaredParameter_isAnErrorNotACrash() throws {
        var registry = StrategyRegistry()
        try registry.register(
            CriterionEntry(name: "sloppy", summary: "reads what it never declared") {
                arguments throws(StrategySpecError) in
                TaylorCriterion(batches: try arguments.integer("batches"))
            })
        XCTAssertThrowsError(try registry.criterion("sloppy")) {
            XCTAssertEqual("\($0)", "criterion 'sloppy' reads parameter 'batches', which it does not declare")
        }
    }

    // MARK: - Registration

    func testRegisteringTheBuiltinsTwice_isLoud() {
        var registry = StrategyRegistry.standard
        XCTAssertThrowsError(try registry.registerBuiltins()) {
            XCTAssertEqual("\($0)", "a criterion named 'bn-gamma' is already registered")
        }
        var fresh = StrategyRegistry()
        XCTAssertNoThrow(try fresh.registerBuiltins())
        XCTAssertEqual(fresh.names(.criterion), StrategyRegistry.standard.names(.criterion))
    }

    func testAliases_mayNotShadowOrDangle() throws {
        var registry = StrategyRegistry.standard
        XCTAssertThrowsError(try registry.register(StrategyAlias(.criterion, "norm", for: "norm:p=2"))) {
            XCTAssertEqual("\($0)", "a criterion named 'norm' is already registered")
        }
        XCTAssertThrowsError(try registry.register(StrategyAlias(.criterion, "l3", for: "lp:p=3"))) {
            XCTAssertEqual("\($0)", "unknown criterion 'lp'; supported: bn-gamma, norm, apoz, taylor, random")
        }
        XCTAssertThrowsError(try registry.register(criterion: RandomNamed(name: "l1"))) {
            XCTAssertEqual("\($0)", "a criterion named 'l1' is already registered")
        }
        XCTAssertThrowsError(try registry.register(policy: ReductionPolicy(.mean))) {
            XCTAssertEqual("\($0)", "a policy named 'mean' is already registered")
        }
    }
}

/// The random criterion under another name.
private struct RandomNamed: ImportanceCriterion {
    var name: String
    var summary: String { "random" }
    func scores(_ context: ScoringContext) throws -> [[MemberScores]] { try RandomCriterion().scores(context) }
}
