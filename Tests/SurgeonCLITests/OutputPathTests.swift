import Foundation
import SurgeonCore
import SurgeonFormats
import SurgeonPipeline
import XCTest

/// Where commands write: `-o` refuses devices, FIFOs and folders, writes through symbolic links,
/// takes `-` for standard output, survives a failed write and a write over its own input, and
/// sweeps temporaries left by killed runs.
final class OutputPathTests: CLITestCase {
    let newModel = ["new", "vgg", "--input-shape", "8,8,1", "--classes", "3"]

    func kind(_ name: String) -> FileKind? {
        var info = stat()
        return lstat(name.hasPrefix("/") ? name : path(name), &info) == 0 ? FileKind(mode: info.st_mode) : nil
    }

    func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() }

    func model(_ name: String) throws -> ModelContents { try Registries.standard.loadModel(path(name)) }

    // MARK: - Refused destinations

    func testOutput_ontoFIFO_isRefusedWithoutHanging() throws {
        XCTAssertEqual(mkfifo(path("pipe"), 0o644), 0)
        let run = try surgeon(newModel + ["-o", "pipe"])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(
            run.stderr.contains(
                "cannot write \(path("pipe")): it is a FIFO (named pipe), not a regular file; give a "
                    + "regular file or a new path"), run.stderr)
        XCTAssertEqual(kind("pipe"), .fifo)
        XCTAssertEqual(try listing(), ["pipe"])
    }

    func testOutput_ontoDirectory_isRefused() throws {
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("d"), withIntermediateDirectories: false)
        let run = try surgeon(newModel + ["-o", "d"])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("\(path("d")): it is a directory"), run.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("d")), [])
    }

    func testOutput_ontoDevNull_isRefusedAndDevNullStaysADevice() throws {
        continueAfterFailure = false  // see AtomicFileTests: never go on if /dev/null is not refused
        XCTAssertEqual(kind("/dev/null"), .characterDevice)
        let run = try surgeon(newModel + ["-o", "/dev/null"])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("/dev/null: it is a character device"), run.stderr)
        XCTAssertEqual(kind("/dev/null"), .characterDevice)
    }

    func testOutput_ontoDevFull_isRefused() throws {
        try XCTSkipUnless(kind("/dev/full") == .characterDevice, "no /dev/full")
        let run = try surgeon(newModel + ["-o", "/dev/full"])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("/dev/full: it is a character device"), run.stderr)
    }

    func testPlanOutput_ontoFIFO_isRefusedBeforeScoring() throws {
        try surgeon(newModel + ["-o", "m.surgeon"])
        XCTAssertEqual(mkfifo(path("p.json"), 0o644), 0)
        let run = try surgeon("plan", "m.surgeon", "--strategy", "l1", "--ratio", "0.5", "-o", "p.json")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("\(path("p.json")): it is a FIFO"), run.stderr)
        XCTAssertEqual(kind("p.json"), .fifo)
    }

    // MARK: - Symbolic links

    func testOutput_throughSymlink_writesTargetAndKeepsLink() throws {
        try surgeon(newModel + ["-o", "m.surgeon"])
        try FileManager.default.createSymbolicLink(atPath: path("link.surgeon"), withDestinationPath: "m.surgeon")
        let run = try surgeon(newModel + ["--seed", "7", "-o", "link.surgeon"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(kind("link.surgeon"), .symbolicLink)
        XCTAssertEqual(kind("m.surgeon"), .regularFile)
        let fresh = try Registries.standard.architectures.architecture(named: "vgg").build(
            ArchitectureOptions(inputShape: [8, 8, 1], classes: 3, width: 1, seed: 7))
        XCTAssertEqual(try model("m.surgeon").graph.nodes.map(\.layer.weights), fresh.nodes.map(\.layer.weights))
        XCTAssertEqual(try listing(), ["link.surgeon", "m.surgeon"])
    }

    func testOutput_danglingSymlink_isRefused() throws {
        try FileManager.default.createSymbolicLink(atPath: path("link.surgeon"), withDestinationPath: "gone.surgeon")
        let run = try surgeon(newModel + ["-o", "link.surgeon"])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("a symbolic link to gone.surgeon, which does not exist"), run.stderr)
        XCTAssertEqual(try listing(), ["link.surgeon"])
    }

    // MARK: - Standard output

    func testOutput_dash_writesTheModelToStandardOutputAndTheSummaryToStandardError() throws {
        let run = try surgeon(newModel + ["-o", "-"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("wrote standard output: vgg"), run.stderr)
        let contents = try ModelFile.decode(run.stdoutData, source: "stdout", registry: Registries.standard.layers)
        XCTAssertEqual(
            contents.graph.nodes.count,
            try Registries.standard.architectures.architecture(named: "vgg")
                .build(ArchitectureOptions(inputShape: [8, 8, 1], classes: 3, width: 1, seed: 0)).nodes.count)
        XCTAssertEqual(try listing(), [])
    }

    func testOutput_dashWithJSON_isRefused() throws {
        let run = try surgeon(newModel + ["-o", "-", "--json"])
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("--output - and --json both print on standard output"), run.stderr)
    }

    func testOutput_dashOnATerminal_isRefusedForABinaryModel() throws {
        // util-linux `script` runs the command with a pseudo-terminal as its standard output.
        let script = URL(fileURLWithPath: "/usr/bin/script")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: script.path), "no /usr/bin/script")
        let command = ([Self.binary.path] + newModel + ["-o", "-"]).joined(separator: " ")
        let process = Process()
        process.executableURL = script
        process.arguments = ["-q", "-e", "-c", command, "/dev/null"]
        process.currentDirectoryURL = folder
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 1, text)
        XCTAssertTrue(text.contains("refusing to write a .surgeon model (binary) to a terminal"), text)
        XCTAssertEqual(try listing(), [])
    }

    func testPlanOutput_dash_printsThePlan() throws {
        try surgeon(newModel + ["-o", "m.surgeon"])
        let run = try surgeon("plan", "m.surgeon", "--strategy", "l1", "--ratio", "0.5", "-o", "-")
        XCTAssertEqual(run.status, 0, run.stderr)
        let plan = try JSONDecoder().decode(PruningPlan.self, from: run.stdoutData)
        XCTAssertGreaterThan(plan.deletedCount, 0)
        XCTAssertTrue(run.stderr.contains("wrote standard output"), run.stderr)
    }

    func testFolderOutput_dash_isRefused() throws {
        let run = try surgeon("run", "recipe.yaml", "-o", "-")
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("--output -: --output names a folder"), run.stderr)
    }

    func testGroupsTemplate_dash_printsThePlanAndListsOnStandardError() throws {
        try surgeon(newModel + ["-o", "m.surgeon"])
        let run = try surgeon("groups", "m.surgeon", "--template", "-")
        XCTAssertEqual(run.status, 0, run.stderr)
        let plan = try JSONDecoder().decode(PruningPlan.self, from: run.stdoutData)
        XCTAssertEqual(plan.deletedCount, 0)
        XCTAssertTrue(run.stderr.contains("prunable"), run.stderr)
    }

    func testPredict_dash_writesTheArrayToStandardOutput() throws {
        try writeMNIST(0..<4, as: "d")
        try surgeon("new", "vgg", "--input-shape", "28,28,1", "--classes", "10", "-o", "m.surgeon")
        let run = try surgeon("predict", "m.surgeon", "--data", "d-x.npy", "-o", "-")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try Npy.decode(run.stdoutData, source: "stdout").shape, [4, 10])
        XCTAssertTrue(run.stderr.contains("wrote standard output"), run.stderr)
    }

    func testTrain_checkpointNamedByAFIFO_isRefusedBeforeTraining() throws {
        try writeMNIST(0..<8, as: "d")
        try surgeon("new", "vgg", "--input-shape", "28,28,1", "--classes", "10", "-o", "m.surgeon")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("ck"), withIntermediateDirectories: false)
        XCTAssertEqual(mkfifo(path("ck/last.surgeon"), 0o644), 0)
        let run = try surgeon(
            "train", "m.surgeon", "--data", "d-x.npy", "--labels", "d-y.npy", "--epochs", "1", "--checkpoint-dir", "ck",
            "-o", "o.surgeon")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("\(path("ck/last.surgeon")): it is a FIFO"), run.stderr)
        XCTAssertFalse(run.stderr.contains("epoch"), run.stderr)
        XCTAssertFalse(exists("o.surgeon"))
    }

    func testKerasOutput_ontoFIFO_isRefused() throws {
        try surgeon(newModel + ["-o", "m.surgeon"])
        XCTAssertEqual(mkfifo(path("m.keras"), 0o644), 0)
        let run = try surgeon("convert", "m.surgeon", "m.keras")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("\(path("m.keras")): it is a FIFO"), run.stderr)
        XCTAssertEqual(kind("m.keras"), .fifo)
    }

    // MARK: - Writing over the input

    func testConvert_ontoItsOwnInput_leavesAValidModel() throws {
        try surgeon(newModel + ["-o", "m.surgeon"])
        let before = try model("m.surgeon")
        let run = try surgeon("convert", "m.surgeon", "m.surgeon")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try model("m.surgeon").graph.nodes.map(\.layer.weights), before.graph.nodes.map(\.layer.weights))
        XCTAssertEqual(try listing(), ["m.surgeon"])
    }

    func testPrune_inPlace_leavesAValidSmallerModel() throws {
        try surgeon(newModel + ["-o", "m.surgeon"])
        let before = try model("m.surgeon").graph.parameterCount
        let run = try surgeon("prune", "m.surgeon", "--strategy", "l1", "--ratio", "0.5", "-o", "m.surgeon")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertLessThan(try model("m.surgeon").graph.parameterCount, before)
        XCTAssertEqual(try listing(), ["m.surgeon"])
    }

    // MARK: - Failed writes and left-over temporaries

    func testOutput_injectedFullDisk_keepsTheOldModelAndLeavesNoTemporary() throws {
        try surgeon(newModel + ["-o", "m.surgeon"])
        let old = try Data(contentsOf: folder.appendingPathComponent("m.surgeon"))
        let run = try surgeon(
            newModel + ["--seed", "5", "-o", "m.surgeon"], environment: [AtomicFile.failWriteAfterBytesVariable: "1000"]
        )
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("cannot write \(path("m.surgeon")): No space left on device"), run.stderr)
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("m.surgeon")), old)
        XCTAssertEqual(try listing(), ["m.surgeon"])
    }

    func testOutput_sweepsAndReportsATemporaryOfADeadRun() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exit 0"]
        try process.run()
        process.waitUntilExit()
        let stale = ".m.surgeon.surgeon-tmp.\(process.processIdentifier).k3j4h5"
        try XCTSkipIf(kill(process.processIdentifier, 0) == 0, "process id reused at once")
        XCTAssertTrue(FileManager.default.createFile(atPath: path(stale), contents: Data(count: 4096)))
        let run = try surgeon(newModel + ["-o", "m.surgeon"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(
            run.stderr.contains("removed \(path(stale)), a temporary file left by a surgeon process"), run.stderr)
        XCTAssertEqual(try listing(), ["m.surgeon"])
    }
}
