import Foundation
import Layers
import SurgeonCore
import SurgeonStrategies
import SurgeonTestSupport
import XCTest

@testable import SurgeonPipeline

final class BudgetSearchTests: XCTestCase {
    /// Bright-quadrant 8x8 images with four classes and some noise.
    private func data(_ n: Int, seed: UInt64) throws -> LabeledData {
        try quadrantImages(count: n, side: 8, seed: seed, bright: 0.6, noise: 0.5)
    }

    /// A small trained vgg, its training and validation data.
    private func trained() throws -> (Graph, LabeledData, LabeledData) {
        let graph = try ArchitectureRegistry.standard.architecture(named: "vgg")
            .build(ArchitectureOptions(inputShape: [8, 8, 1], classes: 4, width: 0.5))
        let train = try data(256, seed: 1), validation = try data(128, seed: 2)
        let config = TrainingConfiguration(epochs: 2, batchSize: 32, seed: 3)
        return (try Trainer(configuration: config).fit(graph, train: train).last, train, validation)
    }

    private func search(maxDrop: Double, finetuneEpochs: Int = 0) -> BudgetSearch {
        var s = BudgetSearch(
            planner: Planner(
                criterion: BNGammaCriterion(), policy: ReductionPolicy(.mean), budget: Budget(.macs(1)),
                surgeon: .standard),
            settings: BudgetSearch.Settings(maxDrop: maxDrop, finetuneEpochs: finetuneEpochs))
        s.recalibrationBatches = 2
        return s
    }

    /// The model returned is the accepted probe with the fewest MACs, its accuracy is the one
    /// reported, every smaller probe failed, and the bisection closed the gap to the first failure.
    func testSearch_returnsTheSmallestAcceptedCut() throws {
        let (graph, train, validation) = try trained()
        let outcome = try search(maxDrop: 2).run(graph, train: train, validation: validation, seed: 0)
        let report = outcome.report
        let chosen = report.probes[report.chosen]
        XCTAssertTrue(chosen.accepted)
        XCTAssertEqual(report.baselineAccuracy, try Evaluation.evaluate(graph, on: validation).accuracy)
        XCTAssertEqual(report.threshold, report.baselineAccuracy - 0.02, accuracy: 1e-12)
        XCTAssertEqual(outcome.graph.macCount, chosen.macs)
        XCTAssertEqual(try Evaluation.evaluate(outcome.graph, on: validation).accuracy, chosen.accuracy)
        XCTAssertLessThan(chosen.macs, graph.macCount)
        for p in report.probes {
            XCTAssertEqual(p.accepted, p.accuracy >= report.threshold - 1e-12)
            XCTAssertLessThanOrEqual(Double(p.macs), p.target * Double(graph.macCount) + 1e-9)
            if p.accepted { XCTAssertGreaterThanOrEqual(p.macs, chosen.macs) }
        }
        XCTAssertEqual(
            Array(report.probes.map(\.target).prefix(2)), Array(BudgetSearch.Settings.grid.prefix(2)),
            "the grid is probed from the smallest cut")
        if let failed = report.probes.filter({ !$0.accepted }).map(\.target).max() {
            XCTAssertLessThanOrEqual(chosen.target - failed, 0.025 + 1e-9, "bisection stops within the resolution")
        } else {
            XCTAssertEqual(chosen.target, BudgetSearch.Settings.grid.last)
        }
    }

    /// Each probe keeps its best recalibrated candidate and tries every allocation that can
    /// reach the target; a larger allowed drop never keeps a smaller cut.
    func testProbes_keepTheBestCandidate_andALargerDropCutsAtLeastAsMuch() throws {
        let (graph, train, validation) = try trained()
        let tight = try search(maxDrop: 0.5).run(graph, train: train, validation: validation, seed: 0).report
        let loose = try search(maxDrop: 20).run(graph, train: train, validation: validation, seed: 0).report
        for p in tight.probes + loose.probes {
            XCTAssertEqual(p.candidates[p.chosen].accuracy, p.candidates.map(\.accuracy).max())
            XCTAssertEqual(p.recalibratedAccuracy, p.accuracy, "no fine-tuning: the recalibrated accuracy is judged")
        }
        XCTAssertEqual(
            Set(tight.probes[0].candidates.map(\.allocation)), Set(BudgetSearch.Allocation.allCases),
            "a 10% cut is reachable by every allocation")
        XCTAssertLessThanOrEqual(loose.probes[loose.chosen].macs, tight.probes[tight.chosen].macs)
    }

    /// With fine-tuning epochs, the accuracy judged is after fine-tuning, and so is the model.
    func testFinetuning_judgesTheFinetunedModel() throws {
        let (graph, train, validation) = try trained()
        let outcome = try search(maxDrop: 3, finetuneEpochs: 1).run(
            graph, train: train, validation: validation, seed: 0)
        let chosen = outcome.report.probes[outcome.report.chosen]
        XCTAssertEqual(outcome.report.finetuneEpochs, 1)
        XCTAssertEqual(try Evaluation.evaluate(outcome.graph, on: validation).accuracy, chosen.accuracy)
        XCTAssertTrue(
            outcome.report.probes.contains { $0.accuracy != $0.recalibratedAccuracy }, "fine-tuning changed a probe")
    }

    func testOutOfRangeDrop_isRefused() throws {
        let (graph, train, validation) = try trained()
        XCTAssertThrowsError(try search(maxDrop: .nan).run(graph, train: train, validation: validation, seed: 0))
        XCTAssertThrowsError(try search(maxDrop: 101).run(graph, train: train, validation: validation, seed: 0))
    }

    func testNoCut_namesTheBaselineAndTheSmallestCutTried() {
        let probe = BudgetSearch.Probe(
            target: 0.9, candidates: [.init(allocation: .global, macs: 90, params: 9, accuracy: 0.5)], chosen: 0,
            macs: 90, params: 9, recalibratedAccuracy: 0.5, accuracy: 0.5, accepted: false)
        let message = "\(BudgetSearchError.noCut(maxDrop: 1, baseline: 0.975, probes: [probe]))"
        XCTAssertTrue(message.contains("within 1 point(s)") && message.contains("97.50%"), message)
        XCTAssertTrue(message.contains("90.0% of the MACs") && message.contains("50.00%"), message)
        XCTAssertTrue(message.contains("--max-drop"), message)
    }

    /// The run report draws the search's curve.
    func testRunReport_drawsTheSearchCurve() throws {
        let (graph, train, validation) = try trained()
        let report = try search(maxDrop: 2).run(graph, train: train, validation: validation, seed: 0).report
        var result = StageResult(
            index: 0, stage: "prune", label: "pruned", accuracy: 0.9, loss: 0.1, params: 1, macs: 1, seconds: 0,
            history: [], gammas: [])
        result.search = report
        let html = RunReport.html(title: "t", results: [result])
        XCTAssertTrue(html.contains("Accuracy-targeted search (max drop 2 point(s))"), html)
        XCTAssertTrue(html.contains(">kept "), "the probe kept is labelled")
    }
}
