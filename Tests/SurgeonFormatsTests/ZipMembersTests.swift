import Foundation
import SurgeonCore
import XCTest

@testable import SurgeonFormats

/// The zip layer under `.npz` and `.keras`: members round-trip, and the checksum is verified.
final class ZipMembersTests: XCTestCase {
    func testChecksum_isTheZipCRC32() {
        // The standard check value of CRC-32/ISO-HDLC, and lengths around the 8-byte stride.
        XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { ZipChecksum.crc32($0) }, 0xCBF4_3926)
        XCTAssertEqual([UInt8]().withUnsafeBytes { ZipChecksum.crc32($0) }, 0)
        XCTAssertEqual(
            Array("The quick brown fox jumps over the lazy dog".utf8).withUnsafeBytes { ZipChecksum.crc32($0) },
            0x414F_A339)
    }

    func testMembers_roundTripInOrder() throws {
        let members: [(name: String, data: Data)] = [
            ("b.txt", Data("second".utf8)), ("a/x.bin", Data((0..<1000).map { UInt8($0 % 251) })),
        ]
        for compressed in [false, true] {
            let read = try ZipMembers.read(try ZipMembers.write(members, compressed: compressed))
            XCTAssertEqual(read.map(\.name), members.map(\.name))
            XCTAssertEqual(read.map(\.data), members.map(\.data))
        }
    }

    func testDamagedStoredMember_failsItsChecksum() throws {
        var bytes = try ZipMembers.write([("m.bin", Data(repeating: 7, count: 64))])
        // The member's data starts after the 30-byte local header and its 5-byte name.
        bytes[30 + 5 + 10] ^= 0xFF
        XCTAssertThrowsError(try ZipMembers.read(bytes)) { error in
            XCTAssertEqual(
                error as? ZipMembers.Failure,
                .corruptMember(member: "m.bin", reason: "its CRC-32 checksum does not match its contents"))
        }
    }

    /// Readers disagree on which of two same-named members counts (Python's zipfile takes the
    /// last), so a name that occurs twice is refused.
    func testDuplicateMemberName_isRefused() throws {
        let bytes = try ZipMembers.write([("config.json", Data("{}".utf8)), ("config.json", Data("[]".utf8))])
        XCTAssertThrowsError(try ZipMembers.read(bytes, only: ["config.json"])) { error in
            XCTAssertEqual(
                error as? ZipMembers.Failure,
                .corruptMember(member: "config.json", reason: "the archive holds two members of this name"))
        }
    }
}
