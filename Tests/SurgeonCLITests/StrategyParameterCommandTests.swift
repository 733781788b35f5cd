import Foundation
import SurgeonCore
import SurgeonFormats
import XCTest

/// Strategy specs on the command line: parameters, their refusals, `surgeon strategies` and
/// `exec:COMMAND`.
final class StrategyParameterCommandTests: CLITestCase {
    private func model() throws {
        let run = try surgeon(
            "new", "res", "--input-shape", "12,12,1", "--classes", "4", "--width", "0.25", "-o", "m.surgeon")
        XCTAssertEqual(run.status, 0, run.stderr)
    }

    private func plan(_ strategy: String, _ extra: String..., output: String) throws -> Run {
        try surgeon(["plan", "m.surgeon", "--strategy", strategy, "--ratio", "0.3", "-o", output] + extra)
    }

    private func contents(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    func testParameters_andTheirAliases_reachThePlanner() throws {
        try model()
        for (spec, file) in [("norm:p=2", "norm2.json"), ("l2", "l2.json"), ("norm", "norm.json"), ("l1", "l1.json")] {
            let run = try plan(spec, output: file)
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        XCTAssertEqual(try contents("norm2.json"), try contents("l2.json"))
        XCTAssertEqual(try contents("norm.json"), try contents("l1.json"))
        let images = Tensor.random(shape: [12, 12, 12, 1], seed: 1, range: 0...1)
        try Npy.write(NpyArray(images), to: URL(fileURLWithPath: path("x.npy")))
        try Npy.write(
            NpyArray(shape: [12], storage: .int64((0..<12).map { Int64($0 % 4) })),
            to: URL(fileURLWithPath: path("y.npy")))
        let run = try plan("taylor:batches=2", "--data", "x.npy", "--labels", "y.npy", output: "taylor.json")
        XCTAssertEqual(run.status, 0, run.stderr)
    }

    func testBadParameters_areUsageErrorsNamingThem() throws {
        try model()
        let cases: [(String, String)] = [
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
                "exec",
                "criterion 'exec' needs parameter 'command'; accepted: timeout (a number in 0.001...86400, default "
                    + "60), "
                    + "command (text to the end of the spec, required)"
            ),
        ]
        for (spec, message) in cases {
            let run = try plan(spec, output: "p.json")
            XCTAssertEqual(run.status, 64, spec)
            XCTAssertTrue(run.stderr.contains("Error: \(message)"), run.stderr)
        }
        var run = try surgeon(
            "plan", "m.surgeon", "--strategy", "l1", "--policy", "mean:k=2", "--ratio", "0.3", "-o", "p.json")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(
            run.stderr.contains("Error: unknown parameter 'k' of policy 'mean'; it takes no parameters"), run.stderr)
        run = try surgeon(
            "train", "m.surgeon", "--data", "x.npy", "--labels", "y.npy", "--l1", "1e-4", "--regularizer",
            "l1-gamma:k=1",
            "-o", "o.surgeon")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(
            run.stderr.contains("Error: unknown parameter 'k' of regularizer 'l1-gamma'; it takes no parameters"),
            run.stderr)
        run = try surgeon("sensitivity", "m.surgeon", "--data", "x.npy", "--labels", "y.npy", "--strategy", "norm:p=0")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(
            run.stderr.contains("Error: parameter 'p' of criterion 'norm' must be an integer in 1...2, got 0"),
            run.stderr)
        XCTAssertFalse(exists("p.json") || exists("o.surgeon"))
    }

    func testStrategies_listsParametersWithDefaults() throws {
        var run = try surgeon("strategies", "--json")
        XCTAssertEqual(run.status, 0, run.stderr)
        let entries = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]] ?? []
        func entry(_ name: String) -> [String: Any] { entries.first { $0["name"] as? String == name } ?? [:] }
        func parameters(_ name: String) -> [[String: Any]] { entry(name)["parameters"] as? [[String: Any]] ?? [] }
        XCTAssertEqual(parameters("norm").first?["name"] as? String, "p")
        XCTAssertEqual(parameters("norm").first?["default"] as? String, "1")
        XCTAssertEqual(parameters("norm").first?["accepts"] as? String, "an integer in 1...2")
        XCTAssertEqual(parameters("taylor").first?["default"] as? String, "4")
        XCTAssertEqual(parameters("exec").map { $0["name"] as? String }, ["timeout", "command"])
        XCTAssertNil(parameters("exec").last?["default"], "the command is required")
        XCTAssertEqual(entry("l1")["alias_of"] as? String, "norm:p=1")
        XCTAssertEqual(parameters("bn-gamma").count, 0)
        run = try surgeon("strategies")
        XCTAssertTrue(run.stdout.contains("criterion    taylor         batches=4"), run.stdout)
        XCTAssertTrue(run.stdout.contains("criterion  taylor  batches    an integer in 1...100000"), run.stdout)
        XCTAssertTrue(
            run.stdout.contains("criterion    l1                                  the same as norm:p=1"), run.stdout)
    }

    func testExecWithThePythonExample_plansWhatL1Plans() throws {
        let probe = try? shell("python3 -c 'import numpy'")
        try XCTSkipUnless(probe == 0, "python3 with numpy is not available")
        try model()
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("examples/criterion_l1.py").path
        var run = try plan("exec:python3 \(example)", output: "exec.json")
        XCTAssertEqual(run.status, 0, run.stderr)
        run = try plan("l1", output: "l1.json")
        XCTAssertEqual(try contents("exec.json"), try contents("l1.json"))
    }

    func testAFailingExecCriterion_isAnErrorNamingTheCommand() throws {
        try model()
        try "echo 'no model for me' >&2\nexit 2\n".write(toFile: path("fail.sh"), atomically: true, encoding: .utf8)
        let run = try plan("exec:sh fail.sh", output: "p.json")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(
            run.stderr.contains(
                "Error: exec criterion 'sh fail.sh' exited with status 2; its standard error ends:\nno model for me"),
            run.stderr)
        XCTAssertFalse(exists("p.json"))
    }

    /// Runs `/bin/sh -c command`; its exit status.
    private func shell(_ command: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
