import Foundation
import SurgeonCore
import XCTest

@testable import SurgeonFormats

final class NpyNpzTests: XCTestCase {
    /// The members `Fixtures/make_npy_fixtures.py` puts in `savez.npz` and `savez_compressed.npz`.
    static func fixtureMembers() throws -> [(name: String, array: NpyArray)] {
        try [
            (name: "images", array: NpyFixtureValues.array(.uint8, shape: [2, 3, 4])),
            (name: "labels", array: NpyFixtureValues.array(.int64, shape: [3])),
            (name: "weights", array: NpyFixtureValues.array(.float32, shape: [2, 3, 4])),
        ]
    }

    static func assertSameMembers(
        _ got: [(name: String, array: NpyArray)], _ expected: [(name: String, array: NpyArray)],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(got.map(\.name), expected.map(\.name), file: file, line: line)
        XCTAssertEqual(got.map(\.array), expected.map(\.array), file: file, line: line)
    }

    func testReadsNumpySavez() throws {
        let members = try Npz.read(contentsOf: npyFixture("savez.npz"))
        Self.assertSameMembers(members, try Self.fixtureMembers())
    }

    func testReadsNumpySavezCompressed() throws {
        let members = try Npz.read(contentsOf: npyFixture("savez_compressed.npz"))
        Self.assertSameMembers(members, try Self.fixtureMembers())
    }

    func testRoundTripStoredAndCompressed() throws {
        let folder = try temporaryFolder(self)
        var arrays = try Self.fixtureMembers()
        arrays.append((name: "scalar", array: try NpyFixtureValues.array(.float64, shape: [])))
        arrays.append((name: "empty", array: try NpyFixtureValues.array(.int32, shape: [0])))
        for compressed in [false, true] {
            let url = folder.appendingPathComponent("a\(compressed).npz")
            try Npz.write(arrays, to: url, compressed: compressed)
            Self.assertSameMembers(try Npz.read(contentsOf: url), arrays)
        }
        let stored = try Data(contentsOf: folder.appendingPathComponent("afalse.npz"))
        let deflated = try Data(contentsOf: folder.appendingPathComponent("atrue.npz"))
        XCTAssertLessThan(deflated.count, stored.count)
        // Deterministic output: the same arrays give the same bytes.
        XCTAssertEqual(try Npz.encode(arrays), stored)
        XCTAssertEqual(try Npz.encode(arrays, compressed: true), deflated)
        // Members are plain .npy files in the given order.
        XCTAssertEqual(stored.prefix(4), Data([0x50, 0x4B, 0x03, 0x04]))
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(),
            ["afalse.npz", "atrue.npz"])
    }

    func testEmptyArchiveRoundTrips() throws {
        let data = try Npz.encode([])
        XCTAssertTrue(try Npz.decode(data, source: "e.npz").isEmpty)
    }

    func testGarbageIsNotAZip() {
        let error = expectNpyError { () throws(NpyError) in
            try Npz.decode(Data("this is not a zip archive at all".utf8), source: "junk.npz")
        }
        guard case .notZip(source: "junk.npz", _)? = error else { return XCTFail("\(String(describing: error))") }
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("junk.npz is not a readable .npz file"), text)
        XCTAssertTrue(text.contains("end-of-central-directory"), text)
        XCTAssertTrue(text.contains("np.savez"), text)
    }

    func testCutShortZipIsRejected() throws {
        let url = try npyFixture("cut_short.npz")
        let error = expectNpyError { () throws(NpyError) in try Npz.read(contentsOf: url) }
        guard case .notZip? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(error?.description.contains("cut_short.npz") ?? false)
    }

    func testDamagedCentralDirectoryIsRejected() throws {
        var data = try Data(contentsOf: npyFixture("savez.npz"))
        // Break the signature of the last central directory record.
        guard
            let last = data.indices.reversed().first(where: {
                $0 + 3 < data.count && data[$0] == 0x50 && data[$0 + 1] == 0x4B && data[$0 + 2] == 0x01
                    && data[$0 + 3] == 0x02
            })
        else { return XCTFail("no central directory record found") }
        data[last] = 0
        let error = expectNpyError { () throws(NpyError) in try Npz.decode(data, source: "cd.npz") }
        XCTAssertEqual(
            error,
            .notZip(
                source: "cd.npz",
                reason:
                    "its central directory entry 3 of 3 (at offset 821) is damaged or missing (the file is damaged or "
                    + "cut short)"))
    }

    func testCorruptMemberDataIsRejected() throws {
        var data = try Data(contentsOf: npyFixture("savez.npz"))
        // Flip a byte inside the first member's array data (after its 128-byte .npy header).
        guard let header = data.range(of: Data(Npy.magic)) else { return XCTFail("no member found") }
        data[header.lowerBound + 130] ^= 0xFF
        let error = expectNpyError { () throws(NpyError) in try Npz.decode(data, source: "crc.npz") }
        XCTAssertEqual(
            error,
            .corruptMember(
                source: "crc.npz", member: "images.npy", reason: "its CRC-32 checksum does not match its contents"))
        XCTAssertTrue(error?.description.contains("crc.npz is a damaged .npz file: member images.npy") ?? false)
    }

    func testMemberThatIsNotNpyIsRejected() throws {
        let url = try npyFixture("not_npy_member.npz")
        let error = expectNpyError { () throws(NpyError) in try Npz.read(contentsOf: url) }
        XCTAssertEqual(error, .memberNotNpy(source: url.path, member: "readme.txt"))
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("not_npy_member.npz holds member 'readme.txt', which is not a .npy file"), text)
    }

    func testBadMemberErrorNamesArchiveAndMember() throws {
        let url = try npyFixture("fortran_member.npz")
        let error = expectNpyError { () throws(NpyError) in try Npz.read(contentsOf: url) }
        XCTAssertEqual(error, .fortranOrder(source: "\(url.path) (member bad.npy)", shape: [2, 3]))
        XCTAssertTrue(error?.description.contains("fortran_member.npz (member bad.npy) stores") ?? false)
    }

    func testNpyFileGivenToNpzReader() throws {
        let url = try npyFixture("int32_3.npy")
        let error = expectNpyError { () throws(NpyError) in try Npz.read(contentsOf: url) }
        XCTAssertTrue(
            error?.description.contains("int32_3.npy is not a readable .npz file: it is a single .npy") ?? false)
    }

    func testMissingFile() throws {
        let url = try temporaryFolder(self).appendingPathComponent("gone.npz")
        let error = expectNpyError { () throws(NpyError) in try Npz.read(contentsOf: url) }
        XCTAssertEqual(error?.description, "cannot read \(url.path): No such file or directory")
    }

    func testInvalidNamesAreRejected() throws {
        let folder = try temporaryFolder(self)
        let url = folder.appendingPathComponent("n.npz")
        let a = try NpyFixtureValues.array(.uint8, shape: [3])
        for (arrays, reason) in [
            ([(name: "x", array: a), (name: "x", array: a)], "is used more than once"),
            ([(name: "", array: a)], "is empty"),
        ] {
            let error = expectNpyError { () throws(NpyError) in try Npz.write(arrays, to: url) }
            guard case .invalidMemberName(url.path, _, reason)? = error else {
                XCTFail("\(String(describing: error))")
                continue
            }
            XCTAssertTrue(error?.description.contains("cannot write \(url.path)") ?? false)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
    }

    func testFailedWriteLeavesNoFile() throws {
        let url = try temporaryFolder(self).appendingPathComponent("no/such/folder/w.npz")
        let arrays = try Self.fixtureMembers()
        let error = expectNpyError { () throws(NpyError) in try Npz.write(arrays, to: url) }
        guard case .writeFailed? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(error?.description.contains("w.npz") ?? false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }
}
