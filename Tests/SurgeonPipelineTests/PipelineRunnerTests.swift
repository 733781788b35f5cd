import Foundation
import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

@testable import SurgeonPipeline

final class PipelineRunnerTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-pipeline-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// Bright-quadrant images: separable, so a few epochs learn them.
    private func data(_ n: Int, seed: UInt64) throws -> LabeledData {
        try quadrantImages(count: n, side: 8, seed: seed, bright: 1, noise: 0.2)
    }

    private func recipe() throws -> Recipe {
        try RecipeParser(source: "test").parse(
            """
            model: {architecture: vgg, input_shape: [8, 8, 1], classes: 4, width: 0.5}
            stages:
              - train: {epochs: 2, batch_size: 16}
              - sparse: {epochs: 1, batch_size: 16, lambda: 0.01}
              - prune: {strategy: l1, target_macs: 0.6, sensitivity: true}
              - retrain: {epochs: 1, batch_size: 16, lr: 0.01, warmup_epochs: 0.5}
              - eval: {}
              - export: {path: final.surgeon}
            """)
    }

    private func runner() throws -> (PipelineRunner, Graph) {
        let r = try recipe()
        guard case let .architecture(name, shape, classes, width) = r.model else {
            throw PipelineError("not an architecture")
        }
        let graph = try ArchitectureRegistry.standard.architecture(named: name)
            .build(ArchitectureOptions(inputShape: shape, classes: classes, width: width))
        var runner = PipelineRunner(recipe: r, folder: folder)
        runner.measureLatency = false
        return (runner, graph)
    }

    func testRun_writesEveryStageAndTheReport() throws {
        let (runner, graph) = try runner()
        let results = try runner.run(initial: graph, train: data(128, seed: 1), validation: data(64, seed: 2))
        XCTAssertEqual(results.map(\.label), ["baseline", "sparse", "pruned", "retrained", "eval", "export"])
        XCTAssertLessThanOrEqual(Double(results[2].macs), 0.6 * Double(results[0].macs))
        XCTAssertEqual(results[0].history.count, 2)
        XCTAssertNotNil(results[2].sensitivity)
        // The prune stage re-estimates the BatchNorm statistics by default (128 images: 2 batches of 64).
        XCTAssertEqual(results[2].recalibration?.batches, 2)
        XCTAssertFalse(results[2].recalibration?.layers.isEmpty ?? true)
        XCTAssertNotNil(results[2].accuracyBeforeRecalibration)
        XCTAssertGreaterThan(results.last!.accuracy, 0.35, "4 classes: chance is 0.25")
        for stage in ["01-train", "02-sparse", "03-prune", "04-retrain"] {
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: folder.appendingPathComponent("\(stage)/model.surgeon").path),
                stage)
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: folder.appendingPathComponent("\(stage)/metrics.json").path),
                stage)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("final.surgeon").path))
        let html = RunReport.html(title: "test run", results: results)
        XCTAssertEqual(
            html.components(separatedBy: "<svg").count - 1, 8,
            "accuracy, MACs, params, gamma histogram, channels, sensitivity, 2 curves")
        XCTAssertEqual(fetchedResources(in: html), [], "self-contained: nothing fetched (RunReportTests)")
        // A second run finds everything done and changes nothing.
        let again = try runner.run(initial: graph, train: data(128, seed: 1), validation: data(64, seed: 2))
        XCTAssertEqual(again, results)
    }

    /// A retrain stage with `distill: true` learns from the model before the prune stage, read
    /// back from that stage's folder.
    func testRetrainWithDistillation_usesTheUnprunedModelAsTeacher() throws {
        let r = try RecipeParser(source: "test").parse(
            """
            model: {architecture: vgg, input_shape: [8, 8, 1], classes: 4, width: 0.5}
            stages:
              - train: {epochs: 2, batch_size: 16}
              - prune: {strategy: l1, target_macs: 0.6}
              - retrain: {epochs: 1, batch_size: 16, lr: 0.01, distill: true, temperature: 2}
            """)
        let graph = try ArchitectureRegistry.standard.architecture(named: "vgg")
            .build(ArchitectureOptions(inputShape: [8, 8, 1], classes: 4, width: 0.5))
        var runner = PipelineRunner(recipe: r, folder: folder)
        runner.measureLatency = false
        let results = try runner.run(initial: graph, train: data(128, seed: 1), validation: data(64, seed: 2))
        XCTAssertEqual(results.map(\.label), ["baseline", "pruned", "retrained"])
        let unpruned = try XCTUnwrap(try runner.teacher(before: 2, initial: graph))
        XCTAssertEqual(unpruned.macCount, results[0].macs)
        XCTAssertNil(try runner.teacher(before: 1, initial: graph), "no prune stage before stage 1")
        XCTAssertGreaterThan(results[2].accuracy, 0.35, "4 classes: chance is 0.25")
    }

    func testRunFolderOfAnotherRecipe_isRefused() throws {
        let (runner, graph) = try runner()
        _ = try runner.run(initial: graph, train: data(64, seed: 1), validation: data(32, seed: 2))
        var other = runner
        other.recipe.stages = [.eval]
        XCTAssertThrowsError(try other.run(initial: graph, train: data(64, seed: 1), validation: data(32, seed: 2))) {
            error in
            XCTAssertTrue("\(error)".contains("holds a run of another recipe"), "\(error)")
        }
    }
}
