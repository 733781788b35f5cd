import Foundation
import SurgeonFormats
import SurgeonTestSupport
import XCTest

/// The built binary on model files whose weights point outside the file (the fixtures of
/// SurgeonKerasTests/Fixtures/outside): `convert`, `prune` and `train` fail naming the
/// reference, write nothing, and nothing they print or write holds the bytes of the file
/// pointed at.
final class OutsideReferenceCommandTests: CLITestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SurgeonKerasTests/Fixtures/outside")
    static let absoluteMarker = "/tmp/surgeon-outside-fixture/marker.bin"
    static let fifo = "/tmp/surgeon-outside-fixture/fifo"
    /// The bytes of `outside-marker.bin`, of "/data" in `outside-source.h5`, and of the
    /// absolute marker; 4 of them are one float32 of fc1's kernel.
    static let marker = Data(String(repeating: "SGMK", count: 12).utf8)
    static let markerWord = Data("SGMK".utf8)

    /// Copies fixture `name` into the test folder (the commands' working directory, where
    /// HDF5 would look for the relative references).
    func copy(_ name: String) throws {
        try FileManager.default.copyItem(
            at: Self.fixtures.appendingPathComponent(name), to: folder.appendingPathComponent(name))
    }

    /// Whether `data`, or a member of it when it is a zip archive, holds one float32 of the marker.
    static func holdsMarker(_ data: Data) -> Bool {
        if data.range(of: markerWord) != nil { return true }
        guard let members = try? ZipMembers.read(data) else { return false }
        return members.contains { $0.data.range(of: markerWord) != nil }
    }

    /// The commands the finding named, writing `out.*` in the test folder (`train` reads the
    /// data `writeTrainingData` writes).
    static func commands(_ input: String) -> [[String]] {
        [
            ["convert", input, "out.keras"], ["convert", input, "out.surgeon"],
            ["prune", input, "--strategy", "l1", "--target-macs", "0.7", "-o", "out-pruned.keras"],
            ["train", input, "--data", "x.npy", "--labels", "y.npy", "--epochs", "1", "--output", "out-trained.keras"],
        ]
    }

    /// 8 samples of 4 features and their classes (0 or 1), for the model's Input(4) -> Dense(2).
    func writeTrainingData() throws {
        let x = try NpyArray(shape: [8, 4], storage: .float32((0..<32).map { Float($0 % 7) / 7 - 0.5 }))
        try Npy.write(x, to: folder.appendingPathComponent("x.npy"))
        try Npy.write(
            try NpyArray(shape: [8], storage: .int64((0..<8).map { Int64($0 % 2) })),
            to: folder.appendingPathComponent("y.npy"))
    }

    /// The marker test: the marker is where each crafted file points; every command fails
    /// naming the reference, and no output, printed or written, holds the marker.
    func testCommandsOnFilesReferencingOutside_failAndNeverCopyTheMarker() throws {
        try copy("outside-marker.bin")
        try copy("outside-source.h5")
        try writeTrainingData()
        try FileManager.default.createDirectory(
            atPath: (Self.absoluteMarker as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Self.marker.write(to: URL(fileURLWithPath: Self.absoluteMarker))
        defer { unlink(Self.absoluteMarker) }
        let kinds = [
            "external-relative": "external storage in 'outside-marker.bin'",
            "external-absolute": "external storage in '\(Self.absoluteMarker)'",
            "virtual": "a virtual dataset mapped from 'outside-source.h5'",
            "external-link": "an external link to 'outside-source.h5'",
        ]
        let inputs = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)).union(
            kinds.keys.flatMap { ["\($0).h5", "\($0).keras"] })
        for (variant, kind) in kinds.sorted(by: { $0.key < $1.key }) {
            for ext in ["h5", "keras"] {
                let input = "\(variant).\(ext)"
                try copy(input)
                for command in Self.commands(input) {
                    let run = try surgeon(command)
                    let what = command.joined(separator: " ")
                    XCTAssertNotEqual(run.status, 0, what)
                    XCTAssertTrue(run.stderr.contains("uses \(kind)"), "\(what): \(run.stderr)")
                    XCTAssertFalse(Self.holdsMarker(Data((run.stdout + run.stderr).utf8)), what)
                }
                for name in try FileManager.default.contentsOfDirectory(atPath: folder.path)
                where !inputs.contains(name) {
                    XCTFail("\(input): the commands left \(name)")
                    XCTAssertFalse(Self.holdsMarker(try Data(contentsOf: folder.appendingPathComponent(name))), name)
                }
            }
        }
    }

    /// The control for the scan: a model that holds the marker bytes in itself is converted,
    /// pruned and trained, and the scan finds them in what conversion and pruning wrote
    /// (training changes the weights).
    func testMarkerStoredInTheModel_isFoundInTheOutputs() throws {
        try copy("marker-stored.keras")
        try writeTrainingData()
        for command in Self.commands("marker-stored.keras") {
            XCTAssertEqual(try surgeon(command).status, 0, command.joined(separator: " "))
        }
        for name in ["out.keras", "out.surgeon", "out-pruned.keras"] {
            XCTAssertTrue(Self.holdsMarker(try Data(contentsOf: folder.appendingPathComponent(name))), name)
        }
    }

    /// Each file points at a FIFO; each command returns, refusing it, without opening it (the
    /// watch would see a reader, release it and fail the test rather than let it hang).
    func testCommandsOnReferencesToAFIFO_returnWithoutOpeningIt() throws {
        let fifo = try FIFOWatch(path: Self.fifo)
        defer { fifo.remove() }
        for variant in ["external-fifo", "virtual-fifo", "external-link-fifo"] {
            for ext in ["h5", "keras"] {
                let input = "\(variant).\(ext)"
                try copy(input)
                let stderr = try convertWatching(fifo, input)
                XCTAssertTrue(stderr.contains("uses ") && stderr.contains(Self.fifo), "\(input): \(stderr)")
            }
        }
    }

    /// A dataset naming a filter HDF5 lacks (id 32001) does not make HDF5 load the libraries of
    /// its plugin folder: `HDF5_PLUGIN_PATH` names a folder whose `libsurgeon-fifo.so` is a
    /// FIFO, which loading would block on.
    func testUnknownFilter_loadsNoPluginLibrary() throws {
        let fifo = try FIFOWatch(path: path("plugins/libsurgeon-fifo.so"))
        try copy("unknown-filter.h5")
        let stderr = try convertWatching(fifo, "unknown-filter.h5", environment: ["HDF5_PLUGIN_PATH": path("plugins")])
        XCTAssertTrue(stderr.contains("filter plugins disabled"), stderr)
    }

    /// Runs `surgeon convert input out.surgeon` while watching `fifo`; asserts that it returned,
    /// failing with status 1, without opening the FIFO or writing out.surgeon. Returns its
    /// standard error.
    func convertWatching(
        _ fifo: FIFOWatch, _ input: String, environment: [String: String] = [:], file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> String {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["convert", input, "out.surgeon"]
        process.currentDirectoryURL = folder
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let errors = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let (opened, finished) = fifo.wait { !process.isRunning }
        if !finished { process.terminate() }
        process.waitUntilExit()
        XCTAssertFalse(opened, "\(input): the FIFO was opened", file: file, line: line)
        XCTAssertTrue(finished, "\(input): convert did not return", file: file, line: line)
        XCTAssertEqual(process.terminationStatus, 1, input, file: file, line: line)
        XCTAssertFalse(exists("out.surgeon"), input, file: file, line: line)
        return String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}
