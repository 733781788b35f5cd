import Foundation
import SurgeonCore
import XCTest

@testable import SurgeonFormats

/// surgeon checks a zip archive's directory itself before the zip library reads it: every damaged
/// directory is refused with a reason (the library used to trap on some), ZIP64 and data
/// descriptors are still read, and inflating is bounded by the memory budget.
final class ZipDirectoryTests: XCTestCase {
    private let members: [(name: String, data: Data)] = [
        ("metadata.json", Data(#"{"keras_version": "3.0"}"#.utf8)),
        ("config.json", Data(String(repeating: "{\"a\": 1} ", count: 40).utf8)),
        ("model.weights.h5", Data((0..<3000).map { UInt8($0 % 253) })),
    ]

    private func refusal(_ bytes: Data) -> String? {
        do {
            _ = try ZipMembers.read(bytes)
            return nil
        } catch {
            guard case let .notZip(reason) = error else { return "\(error)" }
            return reason
        }
    }

    /// Every byte of the central directory and end record, flipped three ways, in a stored and in
    /// a deflated archive: each result is read or refused, never a trap (3 of 367 flips trapped
    /// inside the zip library before).
    func testEveryByteOfTheDirectoryFlipped_isReadOrRefusedWithoutTrapping() throws {
        var refused = 0
        var tried = 0
        for compressed in [false, true] {
            let bytes = try ZipMembers.write(members, compressed: compressed)
            XCTAssertEqual(try ZipDirectory.memberCount(of: bytes), members.count)
            let directoryStart = Self.u32(bytes, at: bytes.count - 6)
            for offset in directoryStart..<bytes.count {
                for change: (UInt8) -> UInt8 in [{ $0 ^ 0xFF }, { $0 &+ 1 }, { _ in 0xFF }] {
                    var damaged = bytes
                    damaged[offset] = change(damaged[offset])
                    guard damaged != bytes else { continue }
                    tried += 1
                    do { _ = try ZipMembers.read(damaged) } catch { refused += 1 }
                    _ = ZipMembers.names(damaged)
                }
            }
        }
        XCTAssertGreaterThan(tried, 1000)
        XCTAssertGreaterThan(refused, tried / 2, "most damage to the directory is caught")
    }

    func testEndRecordOffsetPastTheFile_isRefusedNamingTheOffset() throws {
        var bytes = try ZipMembers.write(members)
        Self.setU32(&bytes, at: bytes.count - 6, UInt32(bytes.count + 1000))
        let reason = try XCTUnwrap(refusal(bytes))
        XCTAssertTrue(reason.contains("its central directory (offset \(bytes.count + 1000)"), reason)
        XCTAssertTrue(reason.contains("lies outside the \(bytes.count)-byte file"), reason)
        XCTAssertEqual(ZipMembers.names(bytes), [])
    }

    /// The zip library gives up on an end record whose comment is cut short, and leaked its buffer
    /// doing so (found by fuzz-npz); surgeon refuses the archive before.
    func testEndRecordCommentPastTheFile_isRefused() throws {
        var bytes = try ZipMembers.write(members)
        Self.setU16(&bytes, at: bytes.count - 2, 100)
        let reason = try XCTUnwrap(refusal(bytes))
        XCTAssertTrue(reason.contains("its end record's 100-byte comment runs past the end of the file"), reason)
    }

    func testMemberCountBeyondTheDirectory_isRefused() throws {
        var bytes = try ZipMembers.write(members)
        Self.setU16(&bytes, at: bytes.count - 14, 5000)
        Self.setU16(&bytes, at: bytes.count - 12, 5000)
        let reason = try XCTUnwrap(refusal(bytes))
        XCTAssertTrue(reason.contains("lists 5000 members, more than its"), reason)
    }

    func testLocalHeaderOffsetPastTheDirectory_isRefusedNamingTheMember() throws {
        var bytes = try ZipMembers.write(members)
        let directoryStart = Self.u32(bytes, at: bytes.count - 6)
        Self.setU32(&bytes, at: directoryStart + 42, UInt32(bytes.count - 10))  // the first entry's local header
        let reason = try XCTUnwrap(refusal(bytes))
        XCTAssertTrue(reason.contains("member 'metadata.json' points at offset \(bytes.count - 10)"), reason)
    }

    func testMemberDataRunningIntoTheDirectory_isRefusedAsCutShort() throws {
        var bytes = try ZipMembers.write(members)
        let directoryStart = Self.u32(bytes, at: bytes.count - 6)
        let third = directoryStart + 2 * 46 + "metadata.json".utf8.count + "config.json".utf8.count
        XCTAssertEqual(Self.u32(bytes, at: third), 0x0201_4B50)
        Self.setU32(&bytes, at: third + 20, 1 << 30)
        Self.setU32(&bytes, at: third + 24, 1 << 30)
        let reason = try XCTUnwrap(refusal(bytes))
        XCTAssertTrue(reason.contains("member 'model.weights.h5' declares 1073741824 bytes at offset"), reason)
    }

    func testTooManyBytesAtTheEnd_areNotAZip() throws {
        XCTAssertTrue(
            try XCTUnwrap(refusal(Data(repeating: 0, count: 100))).contains("no zip end-of-central-directory"))
        XCTAssertTrue(try XCTUnwrap(refusal(Data())).contains("no zip end-of-central-directory"))
    }

    /// A ZIP64 end record and locator (as written for archives of 4 GiB or 65,535 members) are read.
    func testZIP64EndRecord_isRead() throws {
        let plain = try ZipMembers.write(members)
        let directoryStart = Self.u32(plain, at: plain.count - 6)
        let directorySize = Self.u32(plain, at: plain.count - 10)
        var bytes = plain.prefix(plain.count - 22)
        let record = bytes.count
        Self.append(&bytes, u32: 0x0606_4B50)
        Self.append(&bytes, u64: 44)
        Self.append(&bytes, u16: 45)
        Self.append(&bytes, u16: 45)
        Self.append(&bytes, u32: 0)
        Self.append(&bytes, u32: 0)
        Self.append(&bytes, u64: UInt64(members.count))
        Self.append(&bytes, u64: UInt64(members.count))
        Self.append(&bytes, u64: UInt64(directorySize))
        Self.append(&bytes, u64: UInt64(directoryStart))
        Self.append(&bytes, u32: 0x0706_4B50)
        Self.append(&bytes, u32: 0)
        Self.append(&bytes, u64: UInt64(record))
        Self.append(&bytes, u32: 1)
        Self.append(&bytes, u32: 0x0605_4B50)
        Self.append(&bytes, u32: 0)
        Self.append(&bytes, u16: 0xFFFF)
        Self.append(&bytes, u16: 0xFFFF)
        Self.append(&bytes, u32: 0xFFFF_FFFF)
        Self.append(&bytes, u32: 0xFFFF_FFFF)
        Self.append(&bytes, u16: 0)
        let read = try ZipMembers.read(Data(bytes))
        XCTAssertEqual(read.map(\.name), members.map(\.name))
        XCTAssertEqual(read.map(\.data), members.map(\.data))

        var wrongLocator = Data(bytes)
        Self.setU64(&wrongLocator, at: wrongLocator.count - 22 - 12, UInt64(record + 4))
        XCTAssertTrue(
            try XCTUnwrap(refusal(wrongLocator)).contains("does not point at the ZIP64 end record"))
    }

    /// Python's zipfile writes data descriptors (flag bit 3) when it writes to a stream it cannot seek.
    func testDataDescriptorMembers_writtenByPython_areRead() throws {
        let arrays = try Npz.read(contentsOf: npyFixture("data_descriptor.npz"))
        XCTAssertEqual(arrays.map(\.name), ["x", "y"])
        XCTAssertEqual(arrays[0].array.shape, [2, 3])
    }

    func testInflatedSizeBeyondTheBudget_isRefusedBeforeInflatingNamingTheMember() throws {
        let bytes = try ZipMembers.write(members, compressed: true)
        let budget = MemoryBudget(bytes: 1000)
        XCTAssertThrowsError(try ZipMembers.read(bytes, budget: budget)) { error in
            guard case let .tooLarge(budgetError)? = error as? ZipMembers.Failure else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(budgetError.budget, 1000)
            XCTAssertTrue(budgetError.what.contains("up to 'model.weights.h5'"), budgetError.description)
        }
        // Only the members asked for count towards the budget.
        XCTAssertEqual(try ZipMembers.read(bytes, only: ["config.json"], budget: budget).map(\.name), ["config.json"])
    }

    private static func u32(_ data: Data, at offset: Int) -> Int {
        (0..<4).reduce(0) { $0 | Int(data[data.startIndex + offset + $1]) << (8 * $1) }
    }

    private static func setU16(_ data: inout Data, at offset: Int, _ value: UInt16) { set(&data, at: offset, value) }

    private static func setU32(_ data: inout Data, at offset: Int, _ value: UInt32) { set(&data, at: offset, value) }

    private static func setU64(_ data: inout Data, at offset: Int, _ value: UInt64) { set(&data, at: offset, value) }

    private static func append(_ data: inout Data, u16 value: UInt16) { data.append(contentsOf: littleEndian(value)) }

    private static func append(_ data: inout Data, u32 value: UInt32) { data.append(contentsOf: littleEndian(value)) }

    private static func append(_ data: inout Data, u64 value: UInt64) { data.append(contentsOf: littleEndian(value)) }

    private static func set<T: FixedWidthInteger>(_ data: inout Data, at offset: Int, _ value: T) {
        for (k, byte) in littleEndian(value).enumerated() { data[data.startIndex + offset + k] = byte }
    }

    private static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}
