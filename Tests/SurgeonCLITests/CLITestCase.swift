import Foundation
import SurgeonCLI
import SurgeonCore
import SurgeonFormats
import SurgeonPipeline
import XCTest

/// Runs the built `surgeon` binary in a fresh temporary folder.
class CLITestCase: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Standard output as bytes (a model or an array written with `-o -`).
        var stdoutData = Data()
    }

    /// The `surgeon` executable next to the test bundle.
    static var binary: URL {
        #if os(macOS)
            for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
                return bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("surgeon")
            }
        #endif
        return Bundle.main.bundleURL.appendingPathComponent("surgeon")
    }

    /// Runs `surgeon args...` in the test folder.
    @discardableResult
    func surgeon(_ args: String...) throws -> Run { try surgeon(args) }

    /// Runs `surgeon` with `args` in the test folder; standard input is empty, and help is
    /// wrapped at 100 columns whatever the terminal (`COLUMNS`). `environment` adds variables.
    @discardableResult
    func surgeon(_ args: [String], environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = args
        process.currentDirectoryURL = folder
        process.environment = ProcessInfo.processInfo.environment.merging(
            environment.merging(["COLUMNS": "100", "LINES": "50"]) { own, _ in own }
        ) { _, new in new }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self), stdoutData: outData)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    func json(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        guard let dict = object as? [String: Any] else {
            XCTFail("not a JSON object: \(text)", file: file, line: line)
            return [:]
        }
        return dict
    }

    /// Writes the model in `source` again as `name`, with `metadata` in place of its own.
    func rewriteModel(_ source: String, as name: String, metadata: [String: ConfigValue]) throws {
        let contents = try Registries.standard.loadModel(path(source))
        try ModelFile.save(
            ModelContents(graph: contents.graph, metadata: metadata), to: folder.appendingPathComponent(name))
    }

    /// The bundled MNIST subset from the source tree.
    static var mnistFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Sources/SurgeonPipeline/Resources/mnist-5k")
    }

    /// Writes samples `range` of the bundled MNIST data as `name`-x.npy and `name`-y.npy.
    func writeMNIST(_ range: Range<Int>, as name: String) throws {
        let images = try Npy.read(contentsOf: Self.mnistFolder.appendingPathComponent("images.npy"))
        let labels = try Npy.read(contentsOf: Self.mnistFolder.appendingPathComponent("labels.npy"))
        guard case let .uint8(pixels) = images.storage, case let .int64(classes) = labels.storage else {
            XCTFail("unexpected dtypes in the bundled data")
            return
        }
        let x = try NpyArray(
            shape: [range.count, 28, 28, 1],
            storage: .uint8(Array(pixels[(range.lowerBound * 784)..<(range.upperBound * 784)])))
        let y = try NpyArray(shape: [range.count], storage: .int64(Array(classes[range])))
        try Npy.write(x, to: folder.appendingPathComponent("\(name)-x.npy"))
        try Npy.write(y, to: folder.appendingPathComponent("\(name)-y.npy"))
    }
}
