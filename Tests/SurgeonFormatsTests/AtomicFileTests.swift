import Foundation
import XCTest

@testable import SurgeonFormats

/// `AtomicFile`: which destinations it refuses, how it writes through a symbolic link, and that
/// no failure leaves a temporary file or damages the destination.
final class AtomicFileTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try temporaryFolder(self)
    }

    func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    func contents(_ name: String) throws -> String { try String(contentsOf: url(name), encoding: .utf8) }

    func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() }

    func kind(_ path: String) -> FileKind? {
        var info = stat()
        return lstat(path, &info) == 0 ? FileKind(mode: info.st_mode) : nil
    }

    /// Runs `body`, which must throw a `FileWriteError`, and returns it.
    func expectWriteError(
        _ body: () throws(FileWriteError) -> Void, file: StaticString = #filePath, line: UInt = #line
    ) -> FileWriteError? {
        do {
            try body()
            XCTFail("expected a FileWriteError", file: file, line: line)
            return nil
        } catch { return error }
    }

    // MARK: - Refused destinations

    func testWrite_ontoFIFO_isRefusedWithoutHanging() throws {
        XCTAssertEqual(mkfifo(url("pipe").path, 0o644), 0)
        let error = expectWriteError { () throws(FileWriteError) in
            try AtomicFile.write(Data("x".utf8), to: url("pipe"))
        }
        XCTAssertEqual(error?.refusal, .notARegularFile(.fifo))
        XCTAssertEqual(error?.path, url("pipe").path)
        XCTAssertTrue(error?.description.contains("give a regular file or a new path") ?? false, "\(error as Any)")
        XCTAssertEqual(kind(url("pipe").path), .fifo)
        XCTAssertEqual(try listing(), ["pipe"])
    }

    func testWrite_ontoDirectory_isRefused() throws {
        try FileManager.default.createDirectory(at: url("d"), withIntermediateDirectories: false)
        let error = expectWriteError { () throws(FileWriteError) in try AtomicFile.write(Data("x".utf8), to: url("d")) }
        XCTAssertEqual(error?.refusal, .notARegularFile(.directory))
        XCTAssertEqual(try listing(), ["d"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: url("d").path), [])
    }

    func testWrite_ontoDevNull_isRefusedAndDevNullStaysADevice() throws {
        // Tests may run as root, where a rename over /dev/null would succeed: stop at the first
        // failed check so that the write below is never tried with a destination check that passes.
        continueAfterFailure = false
        let devNull = URL(fileURLWithPath: "/dev/null")
        XCTAssertEqual(kind(devNull.path), .characterDevice)
        let checked = expectWriteError { () throws(FileWriteError) in try AtomicFile.checkDestination(devNull) }
        XCTAssertEqual(checked?.refusal, .notARegularFile(.characterDevice))
        let error = expectWriteError { () throws(FileWriteError) in try AtomicFile.write(Data("x".utf8), to: devNull) }
        XCTAssertEqual(error?.refusal, .notARegularFile(.characterDevice))
        XCTAssertTrue(error?.description.contains("/dev/null: it is a character device") ?? false, "\(error as Any)")
        XCTAssertEqual(kind(devNull.path), .characterDevice)
    }

    func testWrite_ontoSocket_isRefused() throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(url("sock").path.utf8CString)
        try XCTSkipIf(path.count > MemoryLayout.size(ofValue: address.sun_path), "temporary path too long for a socket")
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            path.withUnsafeBytes { raw.copyMemory(from: $0) }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        XCTAssertEqual(bound, 0)
        let error = expectWriteError { () throws(FileWriteError) in
            try AtomicFile.write(Data("x".utf8), to: url("sock"))
        }
        XCTAssertEqual(error?.refusal, .notARegularFile(.socket))
        XCTAssertEqual(kind(url("sock").path), .socket)
    }

    func testWrite_intoMissingFolder_isRefusedNamingTheFolder() throws {
        let error = expectWriteError { () throws(FileWriteError) in
            try AtomicFile.write(Data("x".utf8), to: url("missing/a.txt"))
        }
        XCTAssertEqual(error?.refusal, .missingFolder(url("missing").path))
        XCTAssertEqual(
            error?.description,
            "cannot write \(url("missing/a.txt").path): the folder \(url("missing").path) does not exist")
        XCTAssertEqual(try listing(), [])
    }

    // MARK: - Symbolic links

    func testWrite_throughSymlink_replacesTargetAndKeepsLink() throws {
        try AtomicFile.write(Data("old".utf8), to: url("target.txt"))
        try FileManager.default.createSymbolicLink(atPath: url("link.txt").path, withDestinationPath: "target.txt")
        try FileManager.default.createSymbolicLink(atPath: url("chain.txt").path, withDestinationPath: "link.txt")
        try AtomicFile.write(Data("new".utf8), to: url("chain.txt"))
        XCTAssertEqual(try contents("target.txt"), "new")
        XCTAssertEqual(kind(url("link.txt").path), .symbolicLink)
        XCTAssertEqual(kind(url("chain.txt").path), .symbolicLink)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: url("chain.txt").path), "link.txt")
        XCTAssertEqual(try listing(), ["chain.txt", "link.txt", "target.txt"])
    }

    func testWrite_danglingSymlink_isRefused() throws {
        try FileManager.default.createSymbolicLink(atPath: url("link.txt").path, withDestinationPath: "gone.txt")
        let error = expectWriteError { () throws(FileWriteError) in
            try AtomicFile.write(Data("x".utf8), to: url("link.txt"))
        }
        XCTAssertEqual(error?.refusal, .danglingLink(target: "gone.txt"))
        XCTAssertEqual(try listing(), ["link.txt"])
    }

    func testWrite_symlinkToFIFO_isRefused() throws {
        XCTAssertEqual(mkfifo(url("pipe").path, 0o644), 0)
        try FileManager.default.createSymbolicLink(atPath: url("link").path, withDestinationPath: "pipe")
        let error = expectWriteError { () throws(FileWriteError) in
            try AtomicFile.write(Data("x".utf8), to: url("link"))
        }
        guard case let .linkToNonRegularFile(target, kind)? = error?.refusal else {
            return XCTFail("\(error as Any)")
        }
        XCTAssertTrue(target.hasSuffix("/pipe"), target)
        XCTAssertEqual(kind, .fifo)
        XCTAssertEqual(self.kind(url("pipe").path), .fifo)
    }

    func testWrite_symlinkToDevNull_isRefused() throws {
        try FileManager.default.createSymbolicLink(atPath: url("null.surgeon").path, withDestinationPath: "/dev/null")
        let error = expectWriteError { () throws(FileWriteError) in
            try AtomicFile.checkDestination(url("null.surgeon"))
        }
        XCTAssertEqual(error?.refusal, .linkToNonRegularFile(target: "/dev/null", kind: .characterDevice))
    }

    func testWrite_symlinkLoop_isRefused() throws {
        try FileManager.default.createSymbolicLink(atPath: url("a").path, withDestinationPath: "b")
        try FileManager.default.createSymbolicLink(atPath: url("b").path, withDestinationPath: "a")
        let error = expectWriteError { () throws(FileWriteError) in try AtomicFile.write(Data("x".utf8), to: url("a")) }
        guard case .unresolvableLink? = error?.refusal else { return XCTFail("\(error as Any)") }
        XCTAssertEqual(try listing(), ["a", "b"])
    }

    // MARK: - Failures leave nothing behind

    func testWrite_failingProduce_leavesNoTemporaryAndOldFile() throws {
        struct Broken: Error {}
        try AtomicFile.write(Data("old".utf8), to: url("a.txt"))
        let error = expectWriteError { () throws(FileWriteError) in
            try AtomicFile.write(to: url("a.txt")) { tmp in
                try Data("half".utf8).write(to: tmp)
                throw Broken()
            }
        }
        XCTAssertEqual(error?.path, url("a.txt").path)
        XCTAssertNil(error?.refusal)
        XCTAssertEqual(try contents("a.txt"), "old")
        XCTAssertEqual(try listing(), ["a.txt"])
    }

    func testWrite_injectedFullDisk_keepsOldFileAndNoTemporary() throws {
        try AtomicFile.write(Data("old contents".utf8), to: url("a.txt"))
        let error = expectWriteError { () throws(FileWriteError) in
            try AtomicFile.write(Data("new contents".utf8), to: url("a.txt"), failAfterBytes: 4) { _ in }
        }
        XCTAssertTrue(error?.reason.contains(String(cString: strerror(ENOSPC))) ?? false, "\(error as Any)")
        XCTAssertEqual(try contents("a.txt"), "old contents")
        XCTAssertEqual(try listing(), ["a.txt"])
    }

    func testWrite_injectedLimitAtFullLength_writes() throws {
        try AtomicFile.write(Data("12345".utf8), to: url("a.txt"), failAfterBytes: 5) { _ in }
        XCTAssertEqual(try contents("a.txt"), "12345")
    }

    func testWrite_overExistingFile_keepsItsPermissionBits() throws {
        try AtomicFile.write(Data("old".utf8), to: url("a.txt"))
        XCTAssertEqual(chmod(url("a.txt").path, 0o600), 0)
        try AtomicFile.write(Data("new".utf8), to: url("a.txt"))
        var info = stat()
        XCTAssertEqual(stat(url("a.txt").path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertEqual(try contents("a.txt"), "new")
    }

    // MARK: - Temporary names and the sweep

    func testTemporaryName_carriesNameAndProcessAndFitsAFileName() {
        let name = AtomicFile.temporaryName(for: "m.surgeon")
        XCTAssertTrue(name.hasPrefix(".m.surgeon.surgeon-tmp.\(getpid())."), name)
        XCTAssertEqual(AtomicFile.temporaryOwner(name), getpid())
        let long = AtomicFile.temporaryName(for: String(repeating: "é", count: 127))  // 254 bytes
        XCTAssertLessThanOrEqual(long.utf8.count, 255)
        XCTAssertEqual(AtomicFile.temporaryOwner(long), getpid())
        XCTAssertNotEqual(AtomicFile.temporaryName(for: "m.surgeon"), name)
        for other in [
            "m.surgeon", ".m.surgeon.UUID.tmp", ".m.surgeon.tmp.12.ab", "m.surgeon.surgeon-tmp.12.ab",
            ".m.surgeon.surgeon-tmp.x.ab", ".m.surgeon.surgeon-tmp.12.",
        ] {
            XCTAssertNil(AtomicFile.temporaryOwner(other), other)
        }
    }

    func testWrite_sweepsStaleTemporariesOfDeadProcessesOnly() throws {
        let dead = try deadProcessID()
        let stale = ".a.txt.surgeon-tmp.\(dead).abc123"
        let own = ".a.txt.surgeon-tmp.\(getpid()).abc123"
        let initProcess = ".b.txt.surgeon-tmp.1.abc123"
        let foreign = ".a.txt.\(UUID().uuidString).tmp"
        for name in [stale, own, initProcess, foreign] {
            XCTAssertTrue(FileManager.default.createFile(atPath: url(name).path, contents: Data()))
        }
        var notices: [String] = []
        try AtomicFile.write(Data("x".utf8), to: url("a.txt")) { notices.append($0) }
        XCTAssertEqual(try listing(), [foreign, initProcess, own, "a.txt"].sorted())
        XCTAssertEqual(notices.count, 1)
        XCTAssertTrue(notices.first?.contains(url(stale).path) ?? false, "\(notices)")
    }

    func testSweep_keepsADirectoryNamedLikeATemporary() throws {
        let name = ".a.surgeon-tmp.\(try deadProcessID()).abc"
        try FileManager.default.createDirectory(at: url(name), withIntermediateDirectories: false)
        XCTAssertEqual(AtomicFile.sweepStaleTemporaries(in: folder), [])
        XCTAssertEqual(try listing(), [name])
    }

    /// The id of a process that has exited and been reaped.
    func deadProcessID() throws -> pid_t {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exit 0"]
        try process.run()
        process.waitUntilExit()
        let pid = process.processIdentifier
        try XCTSkipIf(AtomicFile.processIsAlive(pid), "process id \(pid) was reused at once")
        return pid
    }
}
