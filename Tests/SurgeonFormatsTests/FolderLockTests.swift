import Foundation
import SurgeonFormats
import XCTest

/// `FolderLock`: one run per checkpoint or run folder. flock locks belong to the open file, so
/// two locks taken in this one process conflict exactly as two processes would.
final class FolderLockTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func testSecondLockOnTheSameFolder_isRefusedNamingTheFolderAndTheHolder() throws {
        let first = try FolderLock(folder: folder, purpose: "the run folder")
        XCTAssertThrowsError(try FolderLock(folder: folder, purpose: "the run folder")) { error in
            XCTAssertEqual(
                error as? FolderLockError,
                .inUse(
                    folder: folder.path, purpose: "the run folder", holder: ProcessInfo.processInfo.processIdentifier))
            let message = "\(error)"
            XCTAssertTrue(message.contains(folder.path), message)
            XCTAssertTrue(message.contains("process \(ProcessInfo.processInfo.processIdentifier)"), message)
            XCTAssertTrue(message.contains("in use"), message)
        }
        withExtendedLifetime(first) {}
    }

    func testLockFile_holdsTheProcessIdOfTheHolder() throws {
        let lock = try FolderLock(folder: folder, purpose: "the run folder")
        let text = try String(
            contentsOf: folder.appendingPathComponent(FolderLock.fileName), encoding: .utf8)
        XCTAssertEqual(text, "\(ProcessInfo.processInfo.processIdentifier)\n")
        withExtendedLifetime(lock) {}
    }

    func testReleasedLock_isTakenAgain() throws {
        try FolderLock.holding(folder, purpose: "the checkpoint folder") {}
        // The lock file stays behind; it does not keep the folder locked.
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(FolderLock.fileName).path))
        try FolderLock.holding(folder, purpose: "the checkpoint folder") {}
    }

    func testHolding_refusesANestedLockAndReleasesWhenTheBodyThrows() throws {
        struct Stop: Error {}
        XCTAssertThrowsError(
            try FolderLock.holding(folder, purpose: "the run folder") {
                XCTAssertThrowsError(try FolderLock.holding(folder, purpose: "the run folder") {}) { error in
                    guard case .inUse = error as? FolderLockError else { return XCTFail("\(error)") }
                }
                throw Stop()
            }
        ) { error in XCTAssertTrue(error is Stop, "\(error)") }
        try FolderLock.holding(folder, purpose: "the run folder") {}
    }

    func testLocksOnTwoFolders_doNotConflict() throws {
        let other = folder.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let a = try FolderLock(folder: folder, purpose: "the run folder")
        let b = try FolderLock(folder: other, purpose: "the run folder")
        withExtendedLifetime((a, b)) {}
    }

    func testLockInAMissingFolder_isRefusedWithTheReason() {
        let missing = folder.appendingPathComponent("missing")
        XCTAssertThrowsError(try FolderLock(folder: missing, purpose: "the checkpoint folder")) { error in
            guard case let .cannotLock(path, _, reason) = error as? FolderLockError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, missing.path)
            XCTAssertEqual(reason, "No such file or directory")
        }
    }
}
