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
