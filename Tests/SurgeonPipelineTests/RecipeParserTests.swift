import Foundation
import SurgeonCore
import SurgeonPipeline
import SurgeonStrategies
import XCTest

final class RecipeParserTests: XCTestCase {
    private let parser = RecipeParser(source: "r.yaml")

    func testFullRecipe_parses() throws {
        let recipe = try parser.parse(
            """
            model: {architecture: res, input_shape: [32, 32, 3], classes: 7, width: 0.5}
            data: {images: x.npy, labels: y.npy, train: [0, 100], validation: [100, 150]}
            seed: 3
            stages:
              - train: {epochs: 2, lr: 0.1, schedule: constant}
              - sparse: {epochs: 1, regularizer: group-lasso, lambda: 0.001}
              - prune: {strategy: l2, policy: intersection, ratio: 0.3, global: true, round_to: 4, ignore: \
              [block1_conv], steps: 2}
              - retrain: {epochs: 1, warmup_epochs: 0.5, optimizer: adam}
              - eval:
              - export: {path: out.surgeon}
            """)
        XCTAssertEqual(recipe.model, .architecture(name: "res", inputShape: [32, 32, 3], classes: 7, width: 0.5))
        XCTAssertEqual(recipe.trainRange, 0..<100)
        XCTAssertEqual(recipe.seed, 3)
        XCTAssertEqual(recipe.stages.map(\.name), ["train", "sparse", "prune", "retrain", "eval", "export"])
        guard case let .prune(p) = recipe.stages[2] else { return XCTFail("not a prune stage") }
        XCTAssertEqual(p.budget, Budget(.ratio(0.3, global: true), roundTo: 4, ignore: ["block1_conv"]))
        XCTAssertEqual(p.policy, "intersection")
        XCTAssertEqual(p.recalibrationBatches, 20, "BatchNorm recalibration is on by default")
        let taught = try parser.parse(
            """
            model: {architecture: vgg, input_shape: [28, 28, 1], classes: 10}
            stages:
              - prune: {strategy: l1, ratio: 0.5}
              - retrain: {epochs: 1, distill: true, temperature: 2, distill_weight: 0.7}
            """)
        guard case let .retrain(r) = taught.stages[1] else { return XCTFail("not a retrain stage") }
        XCTAssertEqual([r.distill ? 1 : 0, r.temperature, r.distillWeight], [1, 2, 0.7])
        XCTAssertThrowsError(
            try parser.parse(
                """
                model: {architecture: vgg, input_shape: [28, 28, 1], classes: 10}
                stages:
                  - train: {epochs: 1, distill: true}
                """)
        ) { XCTAssertTrue("\($0)".contains("distill"), "\($0)") }
        let off = try parser.parse(
            """
            model: {architecture: vgg, input_shape: [28, 28, 1], classes: 10}
            stages:
              - prune: {strategy: l1, ratio: 0.5, recalibrate: 0}
            """)
        guard case let .prune(q) = off.stages[0] else { return XCTFail("not a prune stage") }
        XCTAssertEqual(q.recalibrationBatches, 0)
        let searched = try parser.parse(
            """
            model: {architecture: vgg, input_shape: [28, 28, 1], classes: 10}
            stages:
              - prune: {strategy: l1, max_drop: 0.5, finetune_epochs: 2}
            """)
        guard case let .prune(s) = searched.stages[0] else { return XCTFail("not a prune stage") }
        XCTAssertEqual(s.search, BudgetSearch.Settings(maxDrop: 0.5, finetuneEpochs: 2))
        for (settings, expected) in [
            ("max_drop: 1, target_macs: 0.5", "without target_macs"), ("max_drop: 1, steps: 2", "without steps"),
            ("max_drop: 101", "0...100"), ("max_drop: -1", "0...100"),
        ] {
            XCTAssertThrowsError(
                try parser.parse(
                    """
                    model: {architecture: vgg, input_shape: [28, 28, 1], classes: 10}
                    stages:
                      - prune: {strategy: l1, \(settings)}
                    """)
            ) { XCTAssertTrue("\($0)".contains(expected) && "\($0)".contains("r.yaml:3"), "\($0)") }
        }
        for (stages, expected) in [
            ("  - sparse: {regularizer: growing-lasso}\n  - retrain: {epochs: 1}", "fixed budget"),
            ("  - sparse: {regularizer: growing-lasso}\n  - prune: {strategy: l1, max_drop: 1}", "not max_drop"),
        ] {
            XCTAssertThrowsError(
                try parser.parse(
                    "model: {architecture: vgg, input_shape: [28, 28, 1], classes: 10}\nstages:\n\(stages)\n")
            ) { XCTAssertTrue("\($0)".contains(expected) && "\($0)".contains("r.yaml:3"), "\($0)") }
        }
        XCTAssertNoThrow(
            try parser.parse(
                """
                model: {architecture: vgg, input_shape: [28, 28, 1], classes: 10}
                stages:
                  - sparse: {regularizer: growing-lasso, lambda: 0.5}
                  - prune: {strategy: bn-gamma, target_macs: 0.5}
                """))
        XCTAssertThrowsError(
            try parser.parse(
                """
                model: {architecture: vgg, input_shape: [28, 28, 1], classes: 10}
                stages:
                  - prune: {strategy: l1, ratio: 0.5, recalibrate: -3}
                """)
        ) { XCTAssertTrue("\($0)".contains("r.yaml:3"), "\($0)") }
        guard case let .sparse(_, reg, lambda) = recipe.stages[1] else { return XCTFail("not sparse") }
        XCTAssertEqual(reg, "group-lasso")
        XCTAssertEqual(lambda, 0.001, accuracy: 1e-9)
    }

    /// A sparse stage that names no regulariser aims at the next prune stage's cut (growing-lasso,
    /// lambda 0.1, what `surgeon demo` runs); with no fixed-budget cut after it, it is Network
    /// Slimming's l1-gamma at 3e-2. A lambda given is kept either way.
    func testSparseStageDefaults_aimAtTheNextFixedCut() throws {
        struct NotSparse: Error {}
        func sparse(_ stages: String) throws -> (StrategySpec, Float) {
            let recipe = try parser.parse(
                "model: {architecture: vgg, input_shape: [28, 28, 1], classes: 10}\nstages:\n\(stages)\n")
            let first = try XCTUnwrap(recipe.stages.first)
            guard case let .sparse(_, regularizer, lambda) = first else { throw NotSparse() }
            return (regularizer, lambda)
        }
        var (reg, lambda) = try sparse("  - sparse: {epochs: 1}\n  - prune: {strategy: bn-gamma, target_macs: 0.5}")
        XCTAssertEqual(reg, "growing-lasso")
        XCTAssertEqual(lambda, 0.1)
        (reg, lambda) = try sparse("  - sparse: {lambda: 0.2}\n  - prune: {strategy: bn-gamma, ratio: 0.5}")
        XCTAssertEqual(reg, "growing-lasso")
        XCTAssertEqual(lambda, 0.2)
        for after in ["  - retrain: {epochs: 1}", "  - prune: {strategy: l1, max_drop: 1}"] {
            (reg, lambda) = try sparse("  - sparse: {epochs: 1}\n\(after)")
            XCTAssertEqual(reg, "l1-gamma", after)
            XCTAssertEqual(lambda, 3e-2, after)
        }
        (reg, lambda) = try sparse("  - sparse: {lambda: 0.01}")
        XCTAssertEqual(reg, "l1-gamma")
        XCTAssertEqual(lambda, 0.01)
        (reg, lambda) = try sparse("  - sparse: {regularizer: l1-filters}\n  - prune: {strategy: l1, ratio: 0.5}")
        XCTAssertEqual(reg, "l1-filters")
        XCTAssertEqual(lambda, 3e-2)
        let standard = Recipe.standard(variant: "res")
        guard case let .sparse(_, standardRegularizer, standardLambda) = standard.stages[1] else {
            return XCTFail("the standard recipe's second stage is sparse")
        }
        XCTAssertEqual(standardRegularizer, "growing-lasso")
        XCTAssertEqual(standardLambda, 0.1)
    }

    /// Yams multiplies the digits of a YAML 1.1 base-60 integer without overflow checks and traps
    /// (found by fuzz-recipe); the parser refuses it first.
    func testBase60Integer_isRefusedNotTrapped() {
        let long = String(repeating: "59:", count: 30) + "59"
        XCTAssertThrowsError(
            try parser.parse(
                """
                model: {architecture: vgg, input_shape: [28, 28, 1], classes: 10}
                stages:
                  - train: {epochs: \(long)}
                """)
        ) { error in
            XCTAssertTrue("\(error)".contains("r.yaml:3"), "\(error)")
            XCTAssertTrue("\(error)".contains("(base-60 numbers are not accepted)"), "\(error)")
        }
    }

    func testUnknownKey_namesTheLineAndTheAcceptedKeys() {
        XCTAssertThrowsError(
            try parser.parse(
                """
                model: {architecture: vgg}
                stages:
                  - train: {epochs: 2}
                  - sparse: {epoch: 2}
                """)
        ) { error in
            XCTAssertEqual(
                "\(error)",
                "r.yaml:4: unknown key 'epoch' in stage 'sparse'; accepted: epochs, batch_size, optimizer, lr, "
                    + "momentum, weight_decay, schedule, warmup_epochs, regularizer, lambda"
            )
        }
    }

    func testUnknownStageStrategyAndValue_areRefused() {
        let cases: [(String, String)] = [
            (
                "model: {architecture: vgg}\nstages:\n  - distill: {}",
                "r.yaml:3: unknown stage 'distill'; accepted: train, sparse, prune, retrain, eval, export"
            ),
            (
                "model: {architecture: vgg}\nstages:\n  - prune: {strategy: magic}",
                "r.yaml:3: unknown criterion 'magic'; supported: bn-gamma, norm, apoz, taylor, random, exec, l1, l2"
            ),
            (
                "model: {architecture: alexnet}\nstages:\n  - eval:",
                "r.yaml:1: 'alexnet' is not accepted here; accepted: mobilenetv2, res, vgg, resnet50"
            ),
            (
                "model: {architecture: vgg}\nstages:\n  - train: {epochs: 0}",
                "r.yaml:3: 0 is out of range (expected an integer in 1...100000)"
            ),
            (
                "model: {architecture: vgg}\nstages:\n  - prune: {ratio: 0.3, target_macs: 0.5}",
                "r.yaml:3: give one budget of ratio, threshold, target_macs, target_params; got ratio, target_macs"
            ),
            (
                "model: {architecture: vgg}\nseed: 1\ncolour: red\nstages: [eval]",
                "r.yaml:3: unknown key 'colour' in the recipe; accepted: model, data, seed, stages"
            ),
            ("stages:\n  - eval:", "r.yaml:1: the recipe needs a 'model' section"),
            (
                "model: {architecture: vgg}\nstages: []",
                "r.yaml:2: 'stages' must be a non-empty list of stages (train, sparse, prune, retrain, eval, export)"
            ),
        ]
        for (yaml, message) in cases {
            XCTAssertThrowsError(try parser.parse(yaml), yaml) { error in XCTAssertEqual("\(error)", message, yaml) }
        }
    }

    func testExampleRecipes_parse() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("examples")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }
        XCTAssertGreaterThanOrEqual(files.count, 3)
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            XCTAssertNoThrow(try RecipeParser(source: file).parse(text), file)
        }
    }
}
