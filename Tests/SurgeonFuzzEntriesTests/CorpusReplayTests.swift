import Foundation
import SurgeonFuzzEntries
import SurgeonPipeline
import XCTest

/// The CI short pass: every committed corpus input and crash regression goes through its fuzz entry
/// in a normal build; a crash fails the suite.
final class CorpusReplayTests: XCTestCase {
    private static let fuzzFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    private func inputs(_ kind: String, _ name: String) -> [URL] {
        let folder = Self.fuzzFolder.appendingPathComponent(kind).appendingPathComponent(name)
        let files = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []
        return files.filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }

    func testEveryCorpusInputIsParsedOrRefusedWithoutCrashing() throws {
        var replayed = 0
        for (name, entry) in FuzzEntries.all {
            let files = inputs("corpus", name)
            XCTAssertFalse(files.isEmpty, "no seed corpus for \(name)")
            for file in files {
                entry(Array(try Data(contentsOf: file)))
                replayed += 1
            }
        }
        XCTAssertGreaterThan(replayed, 0)
    }

    func testEveryCrashRegressionInputIsRefusedWithoutCrashing() throws {
        for (name, entry) in FuzzEntries.all {
            for file in inputs("regressions", name) { entry(Array(try Data(contentsOf: file))) }
        }
    }

    func testTheModelFileEntryRecomputesTheChecksumSoMutationsReachTheConfig() {
        var bytes = [UInt8](repeating: 0, count: 48)
        bytes[16] = 4  // header length 4
        bytes[24] = 4  // data length 4
        let fixed = FuzzEntries.withValidChecksum(bytes)
        XCTAssertNotEqual(Array(fixed[32..<40]), Array(bytes[32..<40]))
        XCTAssertEqual(Array(fixed[0..<32]), Array(bytes[0..<32]))
    }

    func testTheCheckpointEntryReachesTheResumeChecks() throws {
        let folder = Self.fuzzFolder.appendingPathComponent("corpus/checkpoint")
        let plain = Array(try Data(contentsOf: folder.appendingPathComponent("vgg-adam-no-fingerprint.surgeon")))
        XCTAssertEqual(try FuzzEntries.resumeEpoch(ofCheckpoint: plain), 1, "a checkpoint after epoch 1 resumes there")
        let damaged = Array(try Data(contentsOf: folder.appendingPathComponent("vgg-sgd-negative-epoch.surgeon")))
        XCTAssertThrowsError(try FuzzEntries.resumeEpoch(ofCheckpoint: damaged)) { error in
            XCTAssertTrue(
                "\(error)".contains("the training progress is damaged: training_progress.epoch: -1 is out of range"),
                "\(error)")
        }
        let fingerprinted = Array(try Data(contentsOf: folder.appendingPathComponent("vgg-sgd.surgeon")))
        XCTAssertThrowsError(try FuzzEntries.resumeEpoch(ofCheckpoint: fingerprinted)) { error in
            XCTAssertTrue("\(error)".contains("belongs to another run"), "\(error)")
        }
    }

    func testTheStateEntryReachesTheChecksAgainstTheRecipe() throws {
        let recipe = try RecipeParser(source: "fuzz.yaml").parse(FuzzEntries.stateRecipeText)
        let folder = Self.fuzzFolder.appendingPathComponent("corpus/state")
        for n in 0...3 {
            let data = try Data(contentsOf: folder.appendingPathComponent("completed-\(n).json"))
            XCTAssertEqual(try PipelineRunner.completedStages(inState: data, source: "state.json", recipe: recipe), n)
        }
        let three = try Data(contentsOf: folder.appendingPathComponent("completed-3.json"))
        let other = try RecipeParser(source: "other.yaml").parse(
            FuzzEntries.stateRecipeText.replacingOccurrences(of: "\n  - retrain: {epochs: 1, batch_size: 4}", with: ""))
        XCTAssertThrowsError(try PipelineRunner.completedStages(inState: three, source: "state.json", recipe: other))
    }
}
