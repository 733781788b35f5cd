import Foundation
import Layers
import SurgeonCore
import SurgeonStrategies
import SurgeonTestSupport
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// `exec:COMMAND` with `/bin/sh` scripts: the files it is given, and every way it can fail.
final class ExecCriterionTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-exec-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// input [4, 4, 2] -> conv (3 filters) -> bn -> relu -> gap -> dense (2): one prunable group of 3.
    private func graph() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [4, 4, 2]), name: "input")
        let c = b.add(Conv2D(filters: 3, kernelSize: [3, 3], padding: .same), name: "conv", inputs: [x])
        let n = b.add(BatchNormalization(), name: "bn", inputs: [c])
        let r = b.add(ReLU(), name: "relu", inputs: [n])
        let g = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [r])
        let d = b.add(Dense(units: 2), name: "dense", inputs: [g])
        return try b.build(outputs: [d], seed: 1)
    }

    private var group: Int {
        get throws { try Surgeon.standard.analyze(graph()).prunableGroups[0].id }
    }

    /// A criterion running `sh SCRIPT` where SCRIPT holds `body`.
    private func criterion(_ body: String, timeout: Double = 20) throws -> ExecCriterion {
        let script = folder.appendingPathComponent("criterion-\(UUID().uuidString.prefix(8)).sh")
        try body.write(to: script, atomically: true, encoding: .utf8)
        return ExecCriterion(command: "sh \(script.path)", timeout: timeout, arrays: ListingWriter())
    }

    private func scores(_ criterion: ExecCriterion, data: LabeledData? = nil) throws -> [[MemberScores]] {
        let g = try graph()
        return try criterion.scores(
            ScoringContext(
                graph: g, analysis: try Surgeon.standard.analyze(g), surgeon: .standard, data: data, batchSize: 2))
    }

    private func failure(
        _ body: String, timeout: Double = 20, file: StaticString = #filePath, line: UInt = #line
    ) throws -> (String, String) {
        let c = try criterion(body, timeout: timeout)
        do {
            _ = try scores(c)
            XCTFail("the criterion succeeded", file: file, line: line)
        } catch { return ("\(error)", c.command) }
        return ("", c.command)
    }

    // MARK: - The protocol

    func testScores_areReadFromScoresJSONInTheFolderItWasGiven() throws {
        let g = try group
        let out = folder.appendingPathComponent("seen")
        let c = try criterion(
            """
            test "$1" = "$SURGEON_CRITERION_DIR" || exit 9
            mkdir -p \(out.path) && cp "$1"/* \(out.path)/ && echo "$1" > \(out.path)/folder
            printf '{"\(g)": [3, 1.5, 2]}' > "$1/scores.json"
            """)
        let result = try scores(c)
        XCTAssertEqual(result.count, try Surgeon.standard.analyze(graph()).groups.count)
        XCTAssertEqual(result[g], [MemberScores(layer: "exec", scores: [3, 1.5, 2])])
        XCTAssertTrue(result.enumerated().allSatisfy { $0.offset == g || $0.element.isEmpty })
        let seen = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        XCTAssertEqual(
            seen, ["folder", "groups.json", "stderr.log", "stdout.log", "weights.list"], "no activations without data")
        let used = try String(contentsOf: out.appendingPathComponent("folder"), encoding: .utf8).trimmingCharacters(
            in: .newlines)
        XCTAssertFalse(FileManager.default.fileExists(atPath: used), "the folder is removed afterwards")
        XCTAssertEqual(
            try String(contentsOf: out.appendingPathComponent("weights.list"), encoding: .utf8),
            """
            conv/kernel [3, 3, 2, 3]
            conv/bias [3]
            bn/gamma [3]
            bn/beta [3]
            bn/moving_mean [3]
            bn/moving_variance [3]
            dense/kernel [3, 2]
            dense/bias [2]

            """)
    }

    func testGroupsJSON_describesEveryMemberAndWhereItsChannelsAre() throws {
        let g = try group
        let out = folder.appendingPathComponent("groups.json")
        let c = try criterion(
            """
            cp "$1/groups.json" \(out.path)
            printf '{"\(g)": [0, 0, 0]}' > "$1/scores.json"
            """)
        let data = try LabeledData(images: Tensor.random(shape: [5, 4, 4, 2], seed: 2), labels: [0, 1, 0, 1, 0])
        _ = try scores(c, data: data)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let groups = try decoder.decode(ExecCriterion.Groups.self, from: Data(contentsOf: out))
        XCTAssertEqual(groups.format, "surgeon-criterion-1")
        XCTAssertEqual(groups.activations, "activations.list")
        XCTAssertEqual(groups.batchSize, 2)
        XCTAssertEqual(groups.groups.map(\.id), [g])
        XCTAssertEqual(groups.groups[0].size, 3)
        let members = groups.groups[0].members
        XCTAssertEqual(members.map(\.layer), ["conv", "bn", "relu", "gap", "dense"])
        XCTAssertEqual(members.map(\.role), ["producer", "follower", "follower", "follower", "consumer"])
        XCTAssertEqual(
            members.map(\.tensor), ["conv", "bn", "relu", "gap", "gap"], "a consumer's channels are in its input")
        XCTAssertTrue(members.allSatisfy { $0.groupChannels == [0, 1, 2] && $0.channels == 3 })
        XCTAssertEqual(
            members[0].weights,
            [
                ExecCriterion.Weight(name: "conv/kernel", shape: [3, 3, 2, 3], outputAxis: 3, inputAxis: 2),
                ExecCriterion.Weight(name: "conv/bias", shape: [3], outputAxis: 0, inputAxis: nil),
            ])
        XCTAssertEqual(
            members[4].weights.first,
            ExecCriterion.Weight(name: "dense/kernel", shape: [3, 2], outputAxis: 1, inputAxis: 0))
    }

    func testActivations_areTheMembersOutputsOnTheFirstBatch() throws {
        let g = try group
        let out = folder.appendingPathComponent("activations.list")
        let c = try criterion(
            """
            cp "$1/activations.list" \(out.path)
            printf '{"\(g)": [0, 0, 0]}' > "$1/scores.json"
            """)
        let data = try LabeledData(images: Tensor.random(shape: [5, 4, 4, 2], seed: 2), labels: [0, 1, 0, 1, 0])
        _ = try scores(c, data: data)
        XCTAssertEqual(
            try String(contentsOf: out, encoding: .utf8),
            "conv [2, 4, 4, 3]\nbn [2, 4, 4, 3]\nrelu [2, 4, 4, 3]\ngap [2, 3]\n")
    }

    // MARK: - Failures, each naming the command

    func testAWrongCount_isAnError() throws {
        let g = try group
        let (message, command) = try failure(#"printf '{"\#(g)": [1, 2]}' > "$1/scores.json""#)
        XCTAssertEqual(message, "exec criterion '\(command)' gave 2 scores for group \(g), which has 3 channels")
    }

    func testAMissingGroup_isAnError() throws {
        let (message, command) = try failure(#"printf '{}' > "$1/scores.json""#)
        XCTAssertEqual(message, "exec criterion '\(command)' gave no scores for group \(try group) (3 channels)")
    }

    func testScoresForAGroupThatIsNotPrunable_areAnError() throws {
        let g = try group
        let (message, command) = try failure(#"printf '{"\#(g)": [1, 2, 3], "x": [1]}' > "$1/scores.json""#)
        XCTAssertEqual(
            message,
            "exec criterion '\(command)' gave scores for 'x', which is not a prunable group; prunable groups: \(g)")
    }

    func testNaNAndInfinity_areErrors() throws {
        let g = try group
        var (message, command) = try failure(#"printf '{"\#(g)": [1, NaN, 3]}' > "$1/scores.json""#)
        XCTAssertEqual(
            message,
            "exec criterion '\(command)' gave nan to channel 1 of group \(g); scores must be finite 32-bit numbers")
        (message, command) = try failure(#"printf '{"\#(g)": [1, 2, 1e39]}' > "$1/scores.json""#)
        XCTAssertEqual(
            message,
            "exec criterion '\(command)' gave 1e+39 to channel 2 of group \(g); scores must be finite 32-bit numbers")
    }

    func testUnparsableScores_areAnError() throws {
        var (message, command) = try failure(#"printf '{"0": [1,' > "$1/scores.json""#)
        XCTAssertEqual(message, "exec criterion '\(command)': scores.json is not valid JSON")
        (message, command) = try failure(#"printf '[1, 2, 3]' > "$1/scores.json""#)
        XCTAssertEqual(
            message,
            "exec criterion '\(command)': scores.json must be an object mapping each prunable group's id to its "
                + #"list of scores, e.g. {"0": [0.5, 1.5]}"#)
    }

    func testNoScoresFile_isAnError() throws {
        let (message, command) = try failure("echo working")
        XCTAssertEqual(
            message,
            "exec criterion '\(command)' wrote no scores.json into its folder (its last argument, and "
                + "$SURGEON_CRITERION_DIR)"
        )
    }

    func testANonZeroExit_isAnErrorWithTheEndOfStandardError() throws {
        let noise = (1...30).map { "echo line \($0) >&2" }.joined(separator: "\n")
        let (message, command) = try failure("\(noise)\necho 'ValueError: bad groups' >&2\nexit 3")
        XCTAssertEqual(
            message,
            "exec criterion '\(command)' exited with status 3; its standard error ends:\n"
                + (12...30).map { "line \($0)" }.joined(separator: "\n") + "\nValueError: bad groups")
        let (silent, quiet) = try failure("exit 1")
        XCTAssertEqual(silent, "exec criterion '\(quiet)' exited with status 1 (nothing on standard error)")
    }

    func testAKilledCommand_isAnError() throws {
        // The shell kills itself ('#' comments out the folder surgeon appends).
        let c = ExecCriterion(command: "kill -9 $$ #", arrays: ListingWriter())
        XCTAssertThrowsError(try scores(c)) {
            XCTAssertEqual("\($0)", "exec criterion 'kill -9 $$ #' was killed by signal 9 (nothing on standard error)")
        }
    }

    func testATimeOut_killsTheWholeProcessGroup() throws {
        let pidFile = folder.appendingPathComponent("pid")
        let start = ContinuousClock.now
        let (message, command) = try failure(
            "echo started >&2\nsleep 30 &\necho $! > \(pidFile.path)\nwait", timeout: 0.5)
        XCTAssertLessThan((ContinuousClock.now - start).inSeconds, 10)
        XCTAssertEqual(
            message,
            "exec criterion '\(command)' did not finish within 0.5 s (parameter timeout); its process group was "
                + "killed; "
                + "its standard error ends:\nstarted")
        let pid = try XCTUnwrap(
            Int32(String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        var gone = false
        for _ in 0..<200 where !gone {
            gone = !isRunning(pid)
            if !gone { usleep(10_000) }
        }
        XCTAssertTrue(gone, "the command's child \(pid) outlived the time-out")
    }

    func testTheRegistryEntry_makesTheCriterionFromItsSpec() throws {
        var registry = StrategyRegistry.standard
        try registry.register(ExecCriterion.entry(arrays: ListingWriter()))
        let c = try XCTUnwrap(try registry.criterion("exec:timeout=2.5,python3 score.py --k 1,2") as? ExecCriterion)
        XCTAssertEqual(c.command, "python3 score.py --k 1,2")
        XCTAssertEqual(c.timeout, 2.5)
        XCTAssertEqual(c.spec, "exec:python3 score.py --k 1,2")
        XCTAssertEqual((try registry.criterion("exec:sh s.sh") as? ExecCriterion)?.timeout, 60)
    }
}

/// Writes `NAME [shape]` lines instead of an archive (the real `.npz` writer is in SurgeonPipeline).
private struct ListingWriter: ArrayArchiveWriter {
    var fileExtension: String { "list" }
    func write(_ arrays: [(name: String, tensor: Tensor)], to url: URL) throws {
        try arrays.map { "\($0.name) \($0.tensor.shape)\n" }.joined().write(to: url, atomically: true, encoding: .utf8)
    }
}

/// True while `pid` exists and is not a zombie (an orphaned zombie waits for a reaper that a
/// container may not have).
private func isRunning(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    return !(stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? false)
}
