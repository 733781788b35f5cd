import Foundation
import SurgeonPipeline
import XCTest

@testable import SurgeonCLI

/// `surgeon demo --data-dir DIR`: the standard recipe on DIR/images.npy and DIR/labels.npy
/// instead of the bundled MNIST data (the option the missing-data message names).
final class DemoCommandTests: CLITestCase {
    func testDataDir_setsTheRecipesImagesAndLabels() throws {
        let recipe = try SurgeonCommand.Demo.parse(["--quick", "--data-dir", "/data/mnist"]).recipe(variant: "vgg")
        var expected = Recipe.standard(variant: "vgg", quick: true)
        expected.images = "/data/mnist/images.npy"
        expected.labels = "/data/mnist/labels.npy"
        XCTAssertEqual(recipe, expected)
        XCTAssertEqual(
            try SurgeonCommand.Demo.parse([]).recipe(variant: "res"), Recipe.standard(variant: "res"),
            "the bundled data")
    }

    /// The demo reads the folder's files: ten samples do not hold its training range, and the
    /// message names the folder's images file (before any training).
    func testDataDir_isReadByTheRun() throws {
        try writeMNIST(0..<10, as: "mine")
        try FileManager.default.createDirectory(atPath: path("mine"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: path("mine-x.npy"), toPath: path("mine/images.npy"))
        try FileManager.default.moveItem(atPath: path("mine-y.npy"), toPath: path("mine/labels.npy"))
        let run = try surgeon("demo", "--quick", "--variant", "vgg", "--data-dir", "mine", "-o", "runs")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(
            run.stderr.contains(
                "the recipe's train range 0..<2000 exceeds the 10 samples of \(path("mine/images.npy"))"), run.stderr)
        XCTAssertFalse(run.stderr.contains("epoch "), run.stderr)
    }

    /// --seed and --target-macs set the recipe's seed and its prune stage's MACs target; a target
    /// outside (0, 1] is a usage error that names the option.
    func testSeedAndTargetMacs_setTheRecipe() throws {
        let recipe = try SurgeonCommand.Demo.parse(["--seed", "3", "--target-macs", "0.2"]).recipe(variant: "vgg")
        var expected = Recipe.standard(variant: "vgg", targetMacs: 0.2)
        expected.seed = 3
        XCTAssertEqual(recipe, expected)
        XCTAssertNotEqual(recipe, Recipe.standard(variant: "vgg"))
        let prune = recipe.stages.compactMap { stage -> Recipe.Pruning? in
            if case let .prune(p) = stage { return p } else { return nil }
        }
        XCTAssertEqual(prune.map(\.budget.target), [.macs(0.2)])
        for bad in ["0", "1.5", "nan"] {
            let run = try surgeon("demo", "--target-macs", bad, "-o", "runs")
            XCTAssertEqual(run.status, 64, bad)
            XCTAssertTrue(run.stderr.contains("the MACs target (--target-macs, target_macs:)"), run.stderr)
        }
        XCTAssertFalse(exists("runs"))
    }

    /// Kept channels are a multiple of 8 unless --round-to names another rounding; a value
    /// outside its limits is a usage error naming the option.
    func testRoundTo_setsThePruneStagesRounding() throws {
        func rounding(_ arguments: [String]) throws -> [Int] {
            try SurgeonCommand.Demo.parse(arguments).recipe(variant: "vgg").stages.compactMap { stage -> Int? in
                if case let .prune(p) = stage { return p.budget.roundTo } else { return nil }
            }
        }
        XCTAssertEqual(try rounding([]), [8])
        XCTAssertEqual(try rounding(["--round-to", "16"]), [16])
        XCTAssertEqual(
            try SurgeonCommand.Demo.parse(["--round-to", "16"]).recipe(variant: "res"),
            Recipe.standard(variant: "res", roundTo: 16))
        let run = try surgeon("demo", "--round-to", "0", "-o", "runs")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("--round-to (round_to:)"), run.stderr)
        XCTAssertFalse(exists("runs"))
    }

    func testDataDirWithoutTheFiles_isAnInputError() throws {
        try FileManager.default.createDirectory(atPath: path("empty"), withIntermediateDirectories: true)
        let run = try surgeon("demo", "--data-dir", "empty", "-o", "runs")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(
            run.stderr.contains("--data-dir empty has no images.npy; give a folder with images.npy and labels.npy"),
            run.stderr)
        XCTAssertFalse(exists("runs"))
    }
}
