import Foundation
import SurgeonCore
import SurgeonFormats
import XCTest

/// The exact `--help` of the root command and of every subcommand, and the exact message and exit
/// code of a usage error (64) and of an input error (1) of each, against one file per command in
/// `Golden/` (`Golden/surgeon.txt` for the root).
///
/// A changed text fails here with the first line that differs. To change texts on purpose,
/// re-record every file, then read the diff before committing it:
///
///     SURGEON_RECORD_GOLDEN=1 swift test --filter GoldenTests
///     git diff Tests/SurgeonCLITests/Golden/
///
/// Every command runs in a fresh temporary folder, written `$TMP` in the files, and with
/// `COLUMNS=100` (see `CLITestCase.surgeon`), so that paths and wrapping are the same on every
/// machine. The texts of error messages from Foundation (a missing file) are Linux's.
final class GoldenTests: CLITestCase {
    static let goldenFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Golden")
    static var recording: Bool { ProcessInfo.processInfo.environment["SURGEON_RECORD_GOLDEN"] == "1" }

    // MARK: - One file per command

    func testRoot_helpAndUnknownCommand() throws {
        try check("surgeon", [["--help"], ["frobnicate"]])
    }

    func testDemo_helpAndErrors() throws {
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("empty"), withIntermediateDirectories: true)
        try check(
            "demo",
            [
                ["demo", "--help"], ["demo", "--variant", "alexnet"],
                ["demo", "--quick", "--variant", "vgg", "--data-dir", "empty"],
            ])
    }

    func testNew_helpAndErrors() throws {
        try check(
            "new",
            [
                ["new", "--help"],
                ["new", "alexnet", "--input-shape", "28,28,1", "--classes", "10", "-o", "m.surgeon"],
                ["new", "vgg", "--input-shape", "8,8,1", "--classes", "10", "-o", "missing/m.surgeon"],
            ])
    }

    func testTrain_helpAndErrors() throws {
        try writeModelAndData()
        try check(
            "train",
            [
                ["train", "--help"],
                [
                    "train", "m.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy", "--val-split", "2", "-o",
                    "o.surgeon",
                ],
                ["train", "m.surgeon", "--data", "nope.npy", "--labels", "d-y.npy", "-o", "o.surgeon"],
            ])
    }

    func testEval_helpAndErrors() throws {
        try writeModelAndData()
        try rewriteModel("m.surgeon", as: "bad-norm.surgeon", metadata: ["input_normalization": .string("bad")])
        try check(
            "eval",
            [
                ["eval", "--help"],
                ["eval", "m.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy", "--batch-size", "0"],
                ["eval", "bad-norm.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy"],
            ])
    }

    func testPredict_helpAndErrors() throws {
        try writeModelAndData()
        try Npy.write(NpyArray(Tensor(shape: [2, 4, 4, 1])), to: folder.appendingPathComponent("small-x.npy"))
        try check(
            "predict",
            [
                ["predict", "--help"], ["predict", "m.surgeon", "--data", "d-x.npy"],
                ["predict", "m.surgeon", "--data", "small-x.npy", "-o", "y.npy"],
            ])
    }

    func testInspect_helpAndErrors() throws {
        try Data("not a model".utf8).write(to: folder.appendingPathComponent("text.surgeon"))
        try check("inspect", [["inspect", "--help"], ["inspect"], ["inspect", "text.surgeon"]])
    }

    func testGroups_helpAndErrors() throws {
        try writeModelAndData()
        try check(
            "groups", [["groups", "--help"], ["groups", "m.surgeon", "--template"], ["groups", "nope.surgeon"]])
    }

    func testPlan_helpAndErrors() throws {
        try writeModelAndData()
        try check(
            "plan",
            [
                ["plan", "--help"], ["plan", "m.surgeon", "-o", "p.json"],
                ["plan", "m.surgeon", "--strategy", "apoz", "--ratio", "0.3", "-o", "p.json"],
            ])
    }

    func testPrune_helpAndErrors() throws {
        try writeModelAndData()
        try Data("{\"groups\": []}".utf8).write(to: folder.appendingPathComponent("bad.json"))
        try check(
            "prune",
            [
                ["prune", "--help"],
                ["prune", "m.surgeon", "--plan", "bad.json", "--strategy", "l1", "--ratio", "0.3", "-o", "o.surgeon"],
                ["prune", "m.surgeon", "--plan", "bad.json", "-o", "o.surgeon"],
            ])
    }

    func testRules_helpAndUnknownOption() throws {
        try check("rules", [["rules", "--help"], ["rules", "--bogus"]])
    }

    func testStrategies_helpAndUnexpectedArgument() throws {
        try check("strategies", [["strategies", "--help"], ["strategies", "extra"]])
    }

    func testRun_helpAndErrors() throws {
        try Data("model: {architecture: vgg}\nstages:\n  - prune: {strategy: magic}\n".utf8).write(
            to: folder.appendingPathComponent("bad.yaml"))
        try check("run", [["run", "--help"], ["run"], ["run", "bad.yaml", "-o", "runs"]])
    }

    func testSensitivity_helpAndErrors() throws {
        try writeModelAndData()
        try Npy.write(
            NpyArray(shape: [3], storage: .int64([0, 1, 2])), to: folder.appendingPathComponent("three-y.npy"))
        try check(
            "sensitivity",
            [
                ["sensitivity", "--help"],
                ["sensitivity", "m.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy", "--ratios", "0,1.5"],
                ["sensitivity", "m.surgeon", "--data", "d-x.npy", "--labels", "three-y.npy"],
            ])
    }

    func testConvert_helpAndErrors() throws {
        try writeModelAndData()
        try check(
            "convert",
            [["convert", "--help"], ["convert", "m.surgeon", "m.h5"], ["convert", "nope.keras", "out.surgeon"]])
    }

    /// A new command without a golden file (or a file left behind by a removed one) fails here.
    func testEveryCommand_hasAGoldenFile() throws {
        try XCTSkipIf(Self.recording, "recording")
        let help = try surgeon("--help").stdout.components(separatedBy: "\n")
        let start = (help.firstIndex(of: "SUBCOMMANDS:") ?? help.endIndex) + 1
        let commands = help[min(start, help.endIndex)...].prefix { !$0.isEmpty }
            .filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
        XCTAssertGreaterThan(commands.count, 10, help.joined(separator: "\n"))
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.goldenFolder.path)
            .filter { $0.hasSuffix(".txt") }.map { String($0.dropLast(4)) }
        XCTAssertEqual(Set(files), Set(commands + ["surgeon"]))
    }

    // MARK: - Fixtures and the check

    /// m.surgeon (vgg, 8x8x1, 10 classes) and four blank images with their labels (d-x.npy, d-y.npy).
    private func writeModelAndData() throws {
        let run = try surgeon(
            "new", "vgg", "--input-shape", "8,8,1", "--classes", "10", "--width", "0.25", "-o", "m.surgeon")
        XCTAssertEqual(run.status, 0, run.stderr)
        try Npy.write(NpyArray(Tensor(shape: [4, 8, 8, 1])), to: folder.appendingPathComponent("d-x.npy"))
        try Npy.write(
            NpyArray(shape: [4], storage: .int64([0, 1, 2, 3])), to: folder.appendingPathComponent("d-y.npy"))
    }

    /// Runs `surgeon` with each argument list and writes down the command line, the exit code,
    /// standard output and standard error, with the test folder as `$TMP`.
    private func transcript(_ runs: [[String]]) throws -> String {
        func block(_ text: String) -> String { text.isEmpty || text.hasSuffix("\n") ? text : text + "\n" }
        let text = try runs.map { args in
            let run = try surgeon(args)
            return
                "$ surgeon \(args.joined(separator: " "))\nexit \(run.status)\n--- stdout\n\(block(run.stdout))--- "
                + "stderr\n\(block(run.stderr))"
        }.joined(separator: "\n")
        return text.replacingOccurrences(of: folder.resolvingSymlinksInPath().path, with: "$TMP")
            .replacingOccurrences(of: folder.path, with: "$TMP")
    }

    /// Compares the transcript of `runs` with `Golden/<name>.txt` (or records it).
    private func check(_ name: String, _ runs: [[String]], file: StaticString = #filePath, line: UInt = #line) throws {
        let actual = try transcript(runs)
        let url = Self.goldenFolder.appendingPathComponent("\(name).txt")
        if Self.recording {
            try FileManager.default.createDirectory(at: Self.goldenFolder, withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: url)
            return
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            XCTFail(
                "no golden file \(url.path); record it: SURGEON_RECORD_GOLDEN=1 swift test --filter GoldenTests",
                file: file, line: line)
            return
        }
        guard actual != expected else { return }
        let a = actual.components(separatedBy: "\n"), e = expected.components(separatedBy: "\n")
        let i = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
        XCTFail(
            """
            Golden/\(name).txt differs at line \(i + 1):
              expected: \(i < e.count ? e[i] : "(end of file)")
              actual:   \(i < a.count ? a[i] : "(end of output)")
            If the change is meant, re-record: SURGEON_RECORD_GOLDEN=1 swift test --filter GoldenTests
            """, file: file, line: line)
    }
}
