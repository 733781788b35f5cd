import Foundation
import SurgeonCore
import SurgeonFormats
import SurgeonTestSupport
import XCTest

/// `ExternalDataPath`: an ONNX tensor's external data is read only from a regular file inside
/// the model's folder, and only from a byte range inside that file.
final class ExternalDataPathTests: XCTestCase {
    var root: URL!
    /// `root/models`, holding model.onnx, weights.bin and sub/more.bin.
    var folder: URL!
    var model: URL!

    override func setUpWithError() throws {
        root = URL(fileURLWithPath: "/tmp/surgeon-external-\(UUID().uuidString.prefix(8))")
        folder = root.appendingPathComponent("models")
        model = folder.appendingPathComponent("model.onnx")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data("onnx".utf8).write(to: model)
        try Data(count: 64).write(to: folder.appendingPathComponent("weights.bin"))
        try Data(count: 8).write(to: folder.appendingPathComponent("sub/more.bin"))
        try Data("secret".utf8).write(to: root.appendingPathComponent("outside.bin"))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    func resolveError(_ location: String, file: StaticString = #filePath, line: UInt = #line) -> ExternalDataError? {
        do {
            let url = try ExternalDataPath.resolve(location, model: model)
            XCTFail("'\(location)' resolved to \(url.path)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func link(_ name: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(
            atPath: folder.appendingPathComponent(name).path, withDestinationPath: target)
    }

    var realFolder: String { URL(fileURLWithPath: folder.path).resolvingSymlinksInPath().path }

    // MARK: - Accepted

    func testRelativePathsInsideTheFolder_resolve() throws {
        for (location, expected) in [
            ("weights.bin", "weights.bin"), ("sub/more.bin", "sub/more.bin"), ("./sub//more.bin", "sub/more.bin"),
        ] {
            XCTAssertEqual(
                try ExternalDataPath.resolve(location, model: model).path, realFolder + "/" + expected, location)
        }
    }

    func testSymlinkToAFileInsideTheFolder_resolvesToItsTarget() throws {
        try link("alias.bin", to: "sub/more.bin")
        XCTAssertEqual(try ExternalDataPath.resolve("alias.bin", model: model).path, realFolder + "/sub/more.bin")
    }

    // MARK: - Refused by its text

    func testEmptyLocation_isRefused() {
        for location in ["", ".", "./", "/"] {
            let error = resolveError(location)
            if location == "/" {
                XCTAssertEqual(error, .absolute(model: model.path, location: location))
            } else {
                XCTAssertEqual(error, .emptyLocation(model: model.path, location: location), "'\(location)'")
            }
        }
    }

    func testNulCharacter_isRefused() {
        XCTAssertEqual(
            resolveError("weights.bin\0.txt"), .nulCharacter(model: model.path, location: "weights.bin\0.txt"))
    }

    func testBackslash_isRefused() {
        for location in ["sub\\more.bin", "..\\outside.bin", "C:\\weights.bin"] {
            XCTAssertEqual(resolveError(location), .backslash(model: model.path, location: location))
        }
    }

    func testAbsolutePath_isRefusedEvenInsideTheFolder() {
        for location in ["/etc/passwd", folder.appendingPathComponent("weights.bin").path] {
            XCTAssertEqual(resolveError(location), .absolute(model: model.path, location: location))
        }
    }

    func testParentComponent_isRefusedEvenWhenItComesBack() {
        for location in ["../outside.bin", "sub/../weights.bin", "sub/.."] {
            XCTAssertEqual(resolveError(location), .parentComponent(model: model.path, location: location))
        }
    }

    // MARK: - Refused by what it is

    func testMissingFile_isRefused() {
        guard case .missing? = resolveError("absent.bin") else { return XCTFail("not .missing") }
    }

    func testSymlinkLeavingTheFolder_isRefused() throws {
        try link("escape.bin", to: "../outside.bin")
        try link("passwd", to: "/etc/passwd")
        try link("up", to: root.path)
        for location in ["escape.bin", "passwd", "up/outside.bin"] {
            guard case let .leavesFolder(_, found, _, reportedFolder)? = resolveError(location) else {
                XCTFail("\(location): not .leavesFolder")
                continue
            }
            XCTAssertEqual(found, location)
            XCTAssertEqual(reportedFolder, realFolder)
        }
    }

    func testDirectory_isRefused() {
        XCTAssertEqual(resolveError("sub"), .notRegularFile(model: model.path, location: "sub", kind: "a directory"))
    }

    /// A FIFO is recognised from `stat` alone: were it opened for reading, the watch would see it.
    func testFIFO_isRefusedWithoutOpeningIt() throws {
        let fifo = try FIFOWatch(path: folder.appendingPathComponent("pipe.bin").path)
        let model = model!
        let (error, opened) = fifo.run { () -> ExternalDataError? in
            do throws(ExternalDataError) {
                _ = try ExternalDataPath.resolve("pipe.bin", model: model)
                return nil
            } catch {
                return error
            }
        }
        XCTAssertFalse(opened)
        XCTAssertEqual(error, .some(.notRegularFile(model: model.path, location: "pipe.bin", kind: "a FIFO")))
    }

    func testSocket_isRefused() throws {
        let path = folder.appendingPathComponent("s.sock").path
        let socketFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(socketFD, 0)
        defer { close(socketFD) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        XCTAssertLessThan(bytes.count, MemoryLayout.size(ofValue: address.sun_path))
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(
            resolveError("s.sock"), .notRegularFile(model: model.path, location: "s.sock", kind: "a socket"))
    }

    /// A device reached through a link inside the folder is refused for leaving it; one inside
    /// the folder (made only when the tests run as root) for not being a regular file.
    func testDevice_isRefused() throws {
        try link("null", to: "/dev/null")
        guard case .leavesFolder? = resolveError("null") else { return XCTFail("not .leavesFolder") }
        let device = folder.appendingPathComponent("zero").path
        #if os(Linux)
            let zero = dev_t(1 << 8 | 5)
        #else
            let zero = dev_t(1 << 24 | 5)
        #endif
        guard mknod(device, S_IFCHR | 0o600, zero) == 0 else {
            throw XCTSkip("mknod needs root (errno \(errno)); the link case above was checked")
        }
        XCTAssertEqual(
            resolveError("zero"), .notRegularFile(model: model.path, location: "zero", kind: "a character device"))
    }

    // MARK: - Byte ranges

    func range(_ offset: String?, _ length: String?, size: Int = 64, expected: Int? = nil) throws -> Range<Int> {
        try ExternalDataPath.byteRange(
            offset: offset, length: length, fileSize: size, expectedLength: expected, location: "w.bin",
            model: "m.onnx")
    }

    func testByteRange_defaultsToTheWholeRestOfTheFile() throws {
        XCTAssertEqual(try range(nil, nil), 0..<64)
        XCTAssertEqual(try range("16", nil), 16..<64)
        XCTAssertEqual(try range("16", "48", expected: 48), 16..<64)
        XCTAssertEqual(try range("64", "0"), 64..<64)
    }

    func testByteRange_refusesNumbersThatAreNotDecimalByteCounts() {
        for (offset, length) in [("-1", "4"), ("0x10", "4"), ("1e3", "4"), (" 4", "4"), ("", "4"), ("4", "4.0")] {
            XCTAssertThrowsError(try range(offset, length), "\(offset) \(length)") { error in
                guard case .badNumber? = error as? ExternalDataError else { return XCTFail("\(error)") }
            }
        }
    }

    func testByteRange_refusesRangesBeyondTheEndOfTheFile() {
        for (offset, length) in [
            ("65", nil), ("60", "8"), ("0", "65"), ("99999999999999999999", "1"),
            ("9223372036854775807", "9223372036854775807"),
        ] as [(String, String?)] {
            XCTAssertThrowsError(try range(offset, length), "\(offset) \(length ?? "-")") { error in
                switch error as? ExternalDataError {
                case .badNumber?, .beyondEnd?: break
                default: XCTFail("\(error)")
                }
            }
        }
        XCTAssertThrowsError(try range("60", "8")) { error in
            XCTAssertEqual(
                error as? ExternalDataError,
                .beyondEnd(model: "m.onnx", location: "w.bin", offset: 60, length: 8, fileSize: 64))
        }
    }

    func testByteRange_refusesALengthOtherThanTheTensorNeeds() {
        XCTAssertThrowsError(try range("0", "48", expected: 52)) { error in
            XCTAssertEqual(
                error as? ExternalDataError, .wrongLength(model: "m.onnx", location: "w.bin", length: 48, expected: 52))
        }
    }

    func testMessages_nameTheModelAndLocation() throws {
        try link("passwd", to: "/etc/passwd")
        for location in ["../x", "/etc/passwd", "passwd", "sub", "a\\b"] {
            let message = "\(resolveError(location).map { "\($0)" } ?? "")"
            XCTAssertTrue(message.hasPrefix(model.path + ": "), message)
            XCTAssertTrue(message.contains("'\(location)'"), message)
        }
    }
}
