import Foundation
import SurgeonCore
import SurgeonFormats
import SurgeonTestSupport
import XCTest

final class StrategyCommandTests: CLITestCase {
    /// 24 random 16x16x1 images with ten classes, as x.npy and y.npy.
    private func writeData() throws {
        let images = Tensor.random(shape: [24, 16, 16, 1], seed: 1, range: 0...1)
        try Npy.write(NpyArray(images), to: URL(fileURLWithPath: path("x.npy")))
        try Npy.write(
            NpyArray(shape: [24], storage: .int64((0..<24).map { Int64($0 % 10) })),
            to: URL(fileURLWithPath: path("y.npy")))
    }

    private func model(_ arch: String = "vgg", shape: String = "16,16,1") throws {
        let run = try surgeon(
            "new", arch, "--input-shape", shape, "--classes", "10", "--width", "0.5", "-o", "m.surgeon")
        XCTAssertEqual(run.status, 0, run.stderr)
    }

    func testPlanWithATargetAndRounding_writesAPlanThatPruneApplies() throws {
        try model("mobilenetv2")
        var run = try surgeon(
            "plan", "m.surgeon", "--strategy", "l1", "--target-macs", "0.5", "--round-to", "8", "-o", "plan.json",
            "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        let report = try json(run.stdout)
        let summary = report["summary"] as? [String: Any] ?? [:]
        let before = summary["macsBefore"] as? Int ?? 0, after = summary["macsAfter"] as? Int ?? Int.max
        XCTAssertLessThanOrEqual(Double(after), 0.5 * Double(before))
        let plan = try JSONDecoder().decode(
            PruningPlan.self, from: Data(contentsOf: URL(fileURLWithPath: path("plan.json"))))
        for group in plan.groups where !group.delete.isEmpty {
            XCTAssertEqual((group.size - group.delete.count) % 8, 0, "group \(group.id)")
            XCTAssertLessThan(group.delete.count, group.size)
        }
        run = try surgeon("prune", "m.surgeon", "--plan", "plan.json", "-o", "pruned.surgeon", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try json(run.stdout)["macsAfter"] as? Int, after)
    }

    func testPruneWithAStrategyInSteps() throws {
        try model()
        let run = try surgeon(
            "prune", "m.surgeon", "--strategy", "bn-gamma", "--policy", "max", "--target-params", "0.6", "--steps", "2",
            "-o", "pruned.surgeon", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("step 1/2") && run.stderr.contains("step 2/2"), run.stderr)
        let summary = try json(run.stdout)["summary"] as? [String: Any] ?? [:]
        XCTAssertLessThanOrEqual(
            Double(summary["paramsAfter"] as? Int ?? .max), 0.6 * Double(summary["paramsBefore"] as? Int ?? 0))
        XCTAssertTrue(exists("pruned.surgeon"))
    }

    /// With --data, prune re-estimates the BatchNorm statistics (on by default) and says so.
    func testPruneWithData_recalibratesTheBatchNorms() throws {
        try model()
        try writeData()
        let data = ["--data", "x.npy", "--labels", "y.npy"]
        var run = try surgeon(
            ["prune", "m.surgeon", "--strategy", "l1", "--ratio", "0.5", "-o", "p.surgeon", "--json"] + data)
        XCTAssertEqual(run.status, 0, run.stderr)
        let recalibration = try XCTUnwrap(try json(run.stdout)["recalibration"] as? [String: Any])
        XCTAssertEqual(recalibration["batches"] as? Int, 1, "24 images hold one batch of 64 at most")
        XCTAssertFalse((recalibration["layers"] as? [String] ?? []).isEmpty)
        run = try surgeon(["prune", "m.surgeon", "--strategy", "l1", "--ratio", "0.5", "-o", "q.surgeon"] + data)
        XCTAssertTrue(run.stdout.contains("BatchNorm statistics re-estimated") || run.stderr.contains("re-estimated"))
        run = try surgeon(
            [
                "prune", "m.surgeon", "--strategy", "l1", "--ratio", "0.5", "-o", "r.surgeon", "--recalibrate-batches",
                "0",
                "--json",
            ] + data)
        XCTAssertNil(try json(run.stdout)["recalibration"] as? [String: Any])
        run = try surgeon([
            "prune", "m.surgeon", "--strategy", "l1", "--ratio", "0.5", "-o", "s.surgeon", "--recalibrate-batches",
            "-1",
        ])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("--recalibrate-batches"), run.stderr)
    }

    /// prune --max-drop searches for the cut (any cut passes a 100-point drop, so the smallest
    /// reachable one is kept), reports every probe, and is refused with a budget or without data.
    func testPruneWithMaxDrop_searchesAndIsRefusedWithABudget() throws {
        try model()
        try writeData()
        let data = ["--data", "x.npy", "--labels", "y.npy"]
        var run = try surgeon(
            ["prune", "m.surgeon", "--strategy", "l1", "--max-drop", "100", "-o", "p.surgeon", "--json"] + data)
        XCTAssertEqual(run.status, 0, run.stderr)
        let report = try json(run.stdout)
        let search = try XCTUnwrap(report["search"] as? [String: Any])
        let probes = try XCTUnwrap(search["probes"] as? [[String: Any]])
        let chosen = try XCTUnwrap(search["chosen"] as? Int)
        XCTAssertEqual(chosen, probes.count - 1, "every probe passes: the last reachable is kept")
        XCTAssertTrue(probes.allSatisfy { $0["accepted"] as? Bool == true })
        let summary = try XCTUnwrap(report["summary"] as? [String: Any])
        XCTAssertEqual(summary["macsAfter"] as? Int, probes[chosen]["macs"] as? Int)
        XCTAssertTrue(run.stderr.contains("search: MACs to 90.0%"), run.stderr)
        XCTAssertTrue(exists("p.surgeon"))
        run = try surgeon(["prune", "m.surgeon", "--strategy", "l1", "--max-drop", "100", "-o", "q.surgeon"] + data)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("lowest accepted") && run.stdout.contains("kept"), run.stdout)
        for (extra, message) in [
            (["--target-macs", "0.5"], "without --target-macs"), (["--steps", "2"], "without --steps"),
            (["--val-split", "1"], "--val-split"), (["--finetune-epochs", "-1"], "--finetune-epochs"),
        ] {
            run = try surgeon(
                ["prune", "m.surgeon", "--strategy", "l1", "--max-drop", "1", "-o", "r.surgeon"] + data + extra)
            XCTAssertEqual(run.status, 64, run.stderr)
            XCTAssertTrue(run.stderr.contains(message), run.stderr)
        }
        run = try surgeon("prune", "m.surgeon", "--strategy", "l1", "--max-drop", "1", "-o", "r.surgeon")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("--max-drop measures accuracy"), run.stderr)
        run = try surgeon("prune", "m.surgeon", "--strategy", "l1", "-o", "r.surgeon")
        XCTAssertTrue(run.stderr.contains("give exactly one budget"), run.stderr)
        XCTAssertFalse(exists("r.surgeon"))
    }

    /// train --teacher distils from a model with the same inputs and classes, and refuses one
    /// with other classes, naming the file.
    func testTrainWithATeacher_distilsAndRefusesAMismatch() throws {
        try model()
        try writeData()
        let data = ["--data", "x.npy", "--labels", "y.npy", "--epochs", "1"]
        var run = try surgeon(["train", "m.surgeon", "--teacher", "m.surgeon", "-o", "t.surgeon"] + data)
        XCTAssertEqual(run.status, 0, run.stderr)
        run = try surgeon("new", "vgg", "--input-shape", "16,16,1", "--classes", "5", "-o", "five.surgeon")
        XCTAssertEqual(run.status, 0, run.stderr)
        run = try surgeon(["train", "m.surgeon", "--teacher", "five.surgeon", "-o", "u.surgeon"] + data)
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("--teacher five.surgeon") && run.stderr.contains("same classes"), run.stderr)
        XCTAssertFalse(exists("u.surgeon"))
        run = try surgeon(
            ["train", "m.surgeon", "--teacher", "m.surgeon", "--temperature", "0", "-o", "v.surgeon"] + data)
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("--temperature"), run.stderr)
    }

    func testDataDrivenCriteria_needData() throws {
        try model()
        var run = try surgeon("plan", "m.surgeon", "--strategy", "apoz", "--ratio", "0.3", "-o", "plan.json")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(
            run.stderr.contains("the 'apoz' criterion measures activations: give --data and --labels"), run.stderr)
        XCTAssertFalse(exists("plan.json"))
        try writeData()
        for criterion in ["apoz", "taylor"] {
            run = try surgeon(
                "plan", "m.surgeon", "--strategy", criterion, "--ratio", "0.3", "--data", "x.npy", "--labels", "y.npy",
                "-o", "\(criterion).json")
            XCTAssertEqual(run.status, 0, run.stderr)
        }
    }

    func testBadStrategyOptions_areUsageErrors() throws {
        try model()
        var run = try surgeon("plan", "m.surgeon", "--strategy", "magic", "--ratio", "0.3", "-o", "p.json")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(
            run.stderr.contains(
                "unknown criterion 'magic'; supported: bn-gamma, norm, apoz, taylor, random, exec, l1, l2"), run.stderr)
        run = try surgeon(
            "plan", "m.surgeon", "--strategy", "l1", "--ratio", "0.3", "--threshold", "0.1", "-o", "p.json")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(
            run.stderr.contains("give exactly one budget: --ratio, --threshold, --target-macs or --target-params"),
            run.stderr)
        run = try surgeon(
            "plan", "m.surgeon", "--strategy", "l1", "--ratio", "0.3", "--policy", "median", "-o", "p.json")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(
            run.stderr.contains("unknown policy 'median'; supported: mean, sum, max, intersection, deepest"), run.stderr
        )
        run = try surgeon(
            "prune", "m.surgeon", "--plan", "p.json", "--strategy", "l1", "--ratio", "0.3", "-o", "o.surgeon")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("give either --plan PLAN.json or --strategy NAME with a budget"), run.stderr)
        run = try surgeon(
            "train", "m.surgeon", "--data", "x.npy", "--labels", "y.npy", "--l1", "1e-4", "--regularizer", "l2-gamma",
            "-o", "o.surgeon")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(
            run.stderr.contains("unknown regularizer 'l2-gamma'; supported: l1-gamma, l1-filters, group-lasso"),
            run.stderr)
        run = try surgeon(
            "train", "m.surgeon", "--data", "x.npy", "--labels", "y.npy", "--l1", "1e-4", "--regularizer",
            "growing-lasso", "-o", "o.surgeon")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(
            run.stderr.contains(
                "--regularizer growing-lasso penalises the channels a planned cut will delete, so it needs that cut: "
                    + "use it in a recipe's sparse stage followed by a prune stage with a fixed budget (surgeon run); "
                    + "here: l1-gamma, l1-filters, group-lasso"), run.stderr)
        XCTAssertFalse(exists("o.surgeon"))
    }

    func testSparseTraining_reportsSparsityPerEpoch() throws {
        try model(shape: "28,28,1")
        try writeMNIST(0..<64, as: "d")
        let run = try surgeon(
            "train", "m.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy", "--epochs", "2", "--batch-size", "32",
            "--l1", "0.01", "--regularizer", "l1-gamma", "-o", "sparse.surgeon", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("l1-gamma.below_1e-2"), run.stderr)
        let epochs = try json(run.stdout)["epochs"] as? [[String: Any]] ?? []
        XCTAssertGreaterThan((epochs.last?["penalty"] as? Double) ?? 0, 0)
    }

    func testStrategies_listsEveryKindWithOneLineEach() throws {
        let run = try surgeon("strategies")
        XCTAssertEqual(run.status, 0, run.stderr)
        for name in [
            "bn-gamma", "norm", "l1", "l2", "exec", "apoz", "taylor", "random", "mean", "sum", "max", "intersection",
            "deepest",
            "l1-gamma", "l1-filters", "group-lasso",
        ] {
            XCTAssertTrue(run.stdout.contains(" \(name) "), "strategies lacks \(name)")
        }
        let help = try surgeon("plan", "--help")
        XCTAssertTrue(help.stdout.contains("policy intersection: each member makes its own list"), help.stdout)
    }
}
