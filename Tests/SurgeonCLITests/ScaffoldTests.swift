import Foundation
import XCTest

/// The generator behind `swift package new-layer-rule`.
final class ScaffoldTests: CLITestCase {
    private func scaffold(_ args: String...) throws -> Run {
        let process = Process()
        process.executableURL = Self.binary.deletingLastPathComponent().appendingPathComponent("surgeon-scaffold")
        process.arguments = args + ["--package-directory", folder.path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self))
    }

    func testGeneratesTheLayerFileAndItsTestWiredToTheCheckers() throws {
        let run = try scaffold("--name", "GateScale")
        XCTAssertEqual(run.status, 0, run.stderr)
        let source = try String(contentsOfFile: path("Sources/Layers/GateScale.swift"), encoding: .utf8)
        XCTAssertTrue(source.contains("public struct GateScale: Layer {"), source)
        XCTAssertTrue(source.contains("public static let kerasClassName = \"GateScale\""), source)
        XCTAssertTrue(source.contains("extension GateScale: SurgeryRule {"), source)
        XCTAssertTrue(source.contains("ChannelMap { .identity }"), source)
        let test = try String(contentsOfFile: path("Tests/LayersTests/GateScaleTests.swift"), encoding: .utf8)
        XCTAssertTrue(source.contains("public static var examples: [LayerExample]"), source)
        XCTAssertTrue(
            test.contains("for example in GateScale.examples { try checkSurgeryRule(example, surgeon: surgeon) }"), test
        )
        XCTAssertTrue(
            test.contains("for example in GateScale.examples { try checkLayerExampleGradients(example) }"), test)
        XCTAssertTrue(run.stdout.contains("swift test --filter GateScaleTests"), run.stdout)
    }

    func testProjectionKind_declaresAFreshChannelMap() throws {
        XCTAssertEqual(try scaffold("--name", "Mixer", "--kind", "projection").status, 0)
        let source = try String(contentsOfFile: path("Sources/Layers/Mixer.swift"), encoding: .utf8)
        XCTAssertTrue(
            source.contains("ChannelMap { .fresh }")
                && source.contains("selecting(rows: keptInputs[0], columns: keptOutputs)"), source)
    }

    func testRefusesToOverwriteOrToTakeABadName() throws {
        XCTAssertEqual(try scaffold("--name", "GateScale").status, 0)
        let again = try scaffold("--name", "GateScale")
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("GateScale.swift already exists"), again.stderr)
        let bad = try scaffold("--name", "gate-scale")
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--name must be an UpperCamelCase Swift identifier"), bad.stderr)
    }
}
