import Foundation
import SurgeonCore
import XCTest

@testable import SurgeonFormats

/// The values the fixture script (`Fixtures/make_npy_fixtures.py`) writes, by flat index.
enum NpyFixtureValues {
    static func storage(_ dtype: NpyDType, count: Int) -> NpyArray.Storage {
        let i = Array(0..<count)
        switch dtype {
        case .uint8: return .uint8(i.map { UInt8(($0 * 37 + 5) % 256) })
        case .int32: return .int32(i.map { Int32(($0 - 10) * 100_003) })
        case .int64: return .int64(i.map { Int64($0 - 3) * 10_000_000_007 })
        case .float32: return .float32(i.map { Float(Double($0 - 2) * 0.1) })
        case .float64: return .float64(i.map { Double($0 - 2) * 0.1 })
        }
    }

    static func array(_ dtype: NpyDType, shape: [Int]) throws -> NpyArray {
        try NpyArray(shape: shape, storage: storage(dtype, count: Tensor.elementCount(of: shape)))
    }
}

/// The URL of a bundled fixture such as `"int32_3.npy"`.
func npyFixture(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
    let url = URL(fileURLWithPath: name)
    let base = url.deletingPathExtension().lastPathComponent
    guard
        let found = Bundle.module.url(
            forResource: base, withExtension: url.pathExtension, subdirectory: "Fixtures")
    else {
        XCTFail("missing fixture \(name)", file: file, line: line)
        throw CocoaError(.fileNoSuchFile)
    }
    return found
}

/// A fresh empty folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-npy-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Runs `body`, which must throw an `NpyError`, and returns that error.
func expectNpyError<T>(
    _ body: () throws(NpyError) -> T, file: StaticString = #filePath, line: UInt = #line
) -> NpyError? {
    do {
        let value = try body()
        XCTFail("expected an NpyError, got \(value)", file: file, line: line)
        return nil
    } catch {
        return error
    }
}

final class NpyTests: XCTestCase {
    static let shapes: [[Int]] = [[], [0], [3], [2, 3, 4]]

    // MARK: Round trips

    func testRoundTripEveryDTypeAndShape() throws {
        for dtype in NpyDType.allCases {
            for shape in Self.shapes {
                let array = try NpyFixtureValues.array(dtype, shape: shape)
                let data = Npy.encode(array)
                XCTAssertEqual(data.count % 64, (array.count * dtype.byteWidth) % 64, "\(dtype) \(shape)")
                let back = try Npy.decode(data, source: "mem.npy")
                XCTAssertEqual(back, array, "\(dtype) \(shape)")
                XCTAssertEqual(back.dtype, dtype)
                XCTAssertEqual(back.shape, shape)
            }
        }
    }

    func testExtremeValuesRoundTrip() throws {
        let arrays = try [
            NpyArray(shape: [2], storage: .uint8([0, 255])),
            NpyArray(shape: [2], storage: .int32([.min, .max])),
            NpyArray(shape: [2], storage: .int64([.min, .max])),
            NpyArray(
                shape: [4], storage: .float32([-.infinity, .greatestFiniteMagnitude, -0.0, .leastNonzeroMagnitude])),
            NpyArray(shape: [3], storage: .float64([.infinity, -.greatestFiniteMagnitude, .ulpOfOne])),
        ]
        for array in arrays {
            XCTAssertEqual(try Npy.decode(Npy.encode(array), source: "x.npy"), array)
        }
    }

    func testWriteAndReadFile() throws {
        let folder = try temporaryFolder(self)
        let url = folder.appendingPathComponent("a.npy")
        let array = try NpyFixtureValues.array(.float32, shape: [2, 3, 4])
        try Npy.write(array, to: url)
        XCTAssertEqual(try Npy.read(contentsOf: url), array)
        // Overwrite in place; only the destination is left in the folder.
        try Npy.write(NpyFixtureValues.array(.uint8, shape: [3]), to: url)
        XCTAssertEqual(try Npy.read(contentsOf: url).dtype, .uint8)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["a.npy"])
    }

    func testFailedWriteLeavesNoFile() throws {
        let folder = try temporaryFolder(self)
        let url = folder.appendingPathComponent("missing/a.npy")
        let array = try NpyFixtureValues.array(.uint8, shape: [3])
        let error = expectNpyError { () throws(NpyError) in try Npy.write(array, to: url) }
        guard case let .writeFailed(inner)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(inner.path, url.path)
        XCTAssertTrue(error?.description.contains("a.npy") ?? false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
    }

    func testLongHeaderUsesVersion2() throws {
        let shape = [Int](repeating: 1, count: 22_000)  // "1, " * 22000 > 65535 header bytes
        let array = try NpyArray(shape: shape, storage: .uint8([7]))
        let data = Npy.encode(array)
        XCTAssertEqual(Array(data[6..<8]), [2, 0])
        XCTAssertEqual((data.count - 1) % 64, 0)
        XCTAssertEqual(try Npy.decode(data, source: "long.npy"), array)
    }

    // MARK: Files written by numpy

    func testReadsNumpyFixturesOfEveryDType() throws {
        let cases: [(String, NpyDType, [Int])] = [
            ("uint8_2x3x4.npy", .uint8, [2, 3, 4]),
            ("int32_3.npy", .int32, [3]),
            ("int64_scalar.npy", .int64, []),
            ("float32_2x3x4.npy", .float32, [2, 3, 4]),
            ("float64_0.npy", .float64, [0]),
            ("float64_3.npy", .float64, [3]),
            ("float64_3_v2.npy", .float64, [3]),
            ("int32_3_v3.npy", .int32, [3]),
            ("int32_3_be.npy", .int32, [3]),
            ("float64_3_be.npy", .float64, [3]),
        ]
        for (name, dtype, shape) in cases {
            let array = try Npy.read(contentsOf: npyFixture(name))
            XCTAssertEqual(array, try NpyFixtureValues.array(dtype, shape: shape), name)
        }
    }

    func testHeaderVersionsOfFixtures() throws {
        XCTAssertEqual(Array(try Data(contentsOf: npyFixture("float64_3_v2.npy"))[6..<8]), [2, 0])
        XCTAssertEqual(Array(try Data(contentsOf: npyFixture("int32_3_v3.npy"))[6..<8]), [3, 0])
    }

    func testEncodingIsByteIdenticalToNumpy() throws {
        for name in [
            "uint8_2x3x4.npy", "int32_3.npy", "int64_scalar.npy", "float32_2x3x4.npy",
            "float64_0.npy", "float64_3.npy",
        ] {
            let bytes = try Data(contentsOf: npyFixture(name))
            XCTAssertEqual(Npy.encode(try Npy.decode(bytes, source: name)), bytes, name)
        }
        // Big-endian and version-2 files are re-encoded as numpy's default little-endian 1.0 file.
        let be = try Npy.read(contentsOf: npyFixture("float64_3_be.npy"))
        XCTAssertEqual(Npy.encode(be), try Data(contentsOf: npyFixture("float64_3.npy")))
        let v2 = try Npy.read(contentsOf: npyFixture("float64_3_v2.npy"))
        XCTAssertEqual(Npy.encode(v2), try Data(contentsOf: npyFixture("float64_3.npy")))
    }

    // MARK: Rejected input

    func testFortranOrderIsRejected() throws {
        let url = try npyFixture("fortran.npy")
        let error = expectNpyError { () throws(NpyError) in try Npy.read(contentsOf: url) }
        XCTAssertEqual(error, .fortranOrder(source: url.path, shape: [2, 3]))
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("fortran.npy"), text)
        XCTAssertTrue(text.lowercased().contains("fortran"), text)
        XCTAssertTrue(text.contains("np.ascontiguousarray"), text)
    }

    func testFortranOrderWithCLayoutIsAccepted() throws {
        let header = "{'descr': '<i4', 'fortran_order': True, 'shape': (3, 1), }"
        let array = try Npy.decode(Self.npy(header: header, data: Data(count: 12)), source: "f.npy")
        XCTAssertEqual(array.shape, [3, 1])
    }

    func testObjectArrayIsRejected() throws {
        let url = try npyFixture("object.npy")
        let error = expectNpyError { () throws(NpyError) in try Npy.read(contentsOf: url) }
        XCTAssertEqual(error, .objectArray(source: url.path))
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("object.npy"), text)
        XCTAssertTrue(text.contains("|O"), text)
        XCTAssertTrue(text.contains("<f4 (float32)"), text)
    }

    func testComplexDTypeIsRejected() throws {
        let url = try npyFixture("complex64.npy")
        let error = expectNpyError { () throws(NpyError) in try Npy.read(contentsOf: url) }
        XCTAssertEqual(error, .unsupportedDType(source: url.path, descr: "<c8"))
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("complex64.npy"), text)
        XCTAssertTrue(text.contains("'<c8' (complex64)"), text)
        for dtype in NpyDType.allCases { XCTAssertTrue(text.contains(dtype.descr), text) }
    }

    func testOtherUnsupportedDTypes() {
        for descr in ["|b1", "|i1", "<u4", "<f2", "<U5", "S3"] {
            let data = Self.npy(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (0,), }")
            let error = expectNpyError { () throws(NpyError) in try Npy.decode(data, source: "d.npy") }
            XCTAssertEqual(error, .unsupportedDType(source: "d.npy", descr: descr))
        }
        let structured = Self.npy(
            header: "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }",
            data: Data(count: 8))
        let error = expectNpyError { () throws(NpyError) in try Npy.decode(structured, source: "s.npy") }
        XCTAssertTrue(
            error?.description.contains("structured dtype [('a', '<f4'), ('b', '<i4')]") ?? false,
            "\(String(describing: error))")
    }

    func testTruncatedDataIsRejected() throws {
        let url = try npyFixture("truncated.npy")
        let error = expectNpyError { () throws(NpyError) in try Npy.read(contentsOf: url) }
        guard case let .truncated(source, part, expected, actual)? = error else {
            return XCTFail("\(String(describing: error))")
        }
        XCTAssertEqual(source, url.path)
        XCTAssertEqual(part, "data (shape (2, 3, 4) of float32)")
        XCTAssertEqual(expected, 96)
        XCTAssertEqual(actual, 86)
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("truncated.npy is truncated"), text)
        XCTAssertTrue(text.contains("needs 96 bytes but only 86 are present"), text)
    }

    func testHeaderClaimingMoreDataIsRejected() throws {
        let url = try npyFixture("overclaim.npy")
        let error = expectNpyError { () throws(NpyError) in try Npy.read(contentsOf: url) }
        XCTAssertEqual(
            error,
            .truncated(
                source: url.path, part: "data (shape (100,) of float32)", expectedBytes: 400, actualBytes: 16))
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("overclaim.npy"), text)
        XCTAssertTrue(text.contains("400") && text.contains("16"), text)
    }

    func testTruncatedHeaderIsRejected() throws {
        let whole = try Data(contentsOf: npyFixture("int32_3.npy"))
        for (cut, expected) in [(7, 10), (9, 10), (40, 128)] {
            let error = expectNpyError { () throws(NpyError) in try Npy.decode(whole.prefix(cut), source: "h.npy") }
            XCTAssertEqual(
                error, .truncated(source: "h.npy", part: "header", expectedBytes: expected, actualBytes: cut))
            XCTAssertTrue(error?.description.contains("h.npy is truncated: its header needs") ?? false)
        }
    }

    func testTrailingDataIsRejected() throws {
        var data = try Data(contentsOf: npyFixture("int32_3.npy"))
        data.append(contentsOf: [1, 2, 3])
        let error = expectNpyError { () throws(NpyError) in try Npy.decode(data, source: "t.npy") }
        XCTAssertEqual(error, .trailingData(source: "t.npy", expectedBytes: 12, actualBytes: 15))
        XCTAssertTrue(error?.description.contains("t.npy has 3 unexpected bytes") ?? false)
    }

    func testBadMagicIsRejected() {
        for (bytes, found) in [([UInt8](), "an empty file"), (Array("hello world".utf8), "68 65 6c 6c 6f 20 77 6f")] {
            let error = expectNpyError { () throws(NpyError) in try Npy.decode(Data(bytes), source: "m.npy") }
            let text = error?.description ?? ""
            XCTAssertTrue(text.contains("m.npy is not a NumPy .npy file"), text)
            XCTAssertTrue(text.contains(found), text)
        }
        let zip = Data([0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 0])
        let error = expectNpyError { () throws(NpyError) in try Npy.decode(zip, source: "z.npy") }
        XCTAssertTrue(error?.description.contains("zip archive") ?? false)
    }

    func testUnsupportedVersionIsRejected() throws {
        var data = try Data(contentsOf: npyFixture("int32_3.npy"))
        data[6] = 4
        let error = expectNpyError { () throws(NpyError) in try Npy.decode(data, source: "v.npy") }
        XCTAssertEqual(error, .unsupportedVersion(source: "v.npy", major: 4, minor: 0))
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("v.npy uses .npy format version 4.0"), text)
        XCTAssertTrue(text.contains("1.0, 2.0 and 3.0"), text)
    }

    func testMalformedHeadersAreRejected() {
        let cases: [(String, String)] = [
            ("", "the header is empty"),
            ("['descr']", "does not start with '{'"),
            ("{'descr': '<f4', 'fortran_order': False}", "the key 'shape' is missing"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", "unexpected key 'x'"),
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "'fortran_order' is not True or False"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "'shape' is not a tuple"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "'shape' is (-1,), not a tuple"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", "expected ',' or ')'"),
            ("{'descr' '<f4'}", "expected ':' after the key 'descr'"),
            ("{'descr': '<f4, 'fortran_order': False}", "expected ',' or '}' but found 'f'"),
            ("{descr: '<f4'}", "expected a quoted key"),
            ("{'descr': '<f4', 'fortran_order': Flase, 'shape': ()}", "unknown word 'Flase'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': ()} x", "after the closing '}'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "too large"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", "too many elements"),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': "
                    + String(repeating: "(", count: 40) + String(repeating: ")", count: 40) + "}", "nested too deeply"
            ),
            ("{'descr': '<f4", "is not closed"),
        ]
        for (header, detail) in cases {
            let error = expectNpyError { () throws(NpyError) in
                try Npy.decode(Self.npy(header: header), source: "bad.npy")
            }
            guard case let .malformedHeader(source, found)? = error else {
                XCTFail("\(header): \(String(describing: error))")
                continue
            }
            XCTAssertEqual(source, "bad.npy")
            XCTAssertTrue(found.contains(detail), "\(header): \(found)")
            XCTAssertTrue(error?.description.contains("bad.npy has a malformed .npy header") ?? false)
        }
    }

    func testHeaderVariantsNumpyAccepts() throws {
        // Double quotes, Python 2 long suffix, unsorted keys, no trailing comma, '=' byte order.
        let header = "{\"shape\": (2L, 1), \"fortran_order\": False, \"descr\": \"=i8\"}"
        let array = try Npy.decode(Self.npy(header: header, data: Data(count: 16)), source: "p.npy")
        XCTAssertEqual(array, try NpyArray(shape: [2, 1], storage: .int64([0, 0])))
    }

    func testMissingFileNamesTheOSReason() throws {
        let url = try temporaryFolder(self).appendingPathComponent("nope.npy")
        let error = expectNpyError { () throws(NpyError) in try Npy.read(contentsOf: url) }
        XCTAssertEqual(error, .cannotRead(source: url.path, reason: "No such file or directory"))
        XCTAssertEqual(error?.description, "cannot read \(url.path): No such file or directory")
    }

    // MARK: Conversions

    func testTensorConversions() throws {
        let tensor = try Tensor(shape: [2, 2], scalars: [1, -2.5, 3, 4])
        let array = NpyArray(tensor)
        XCTAssertEqual(array.dtype, .float32)
        XCTAssertEqual(array.floatTensor(), tensor)
        for dtype in NpyDType.allCases {
            let floats = try NpyFixtureValues.array(dtype, shape: [2, 3]).floatTensor()
            XCTAssertEqual(floats.shape, [2, 3])
            XCTAssertEqual(floats.count, 6)
        }
        XCTAssertEqual(try NpyArray(shape: [2], storage: .uint8([0, 255])).floatTensor().scalars, [0, 255])
        XCTAssertEqual(try NpyArray(shape: [1], storage: .int64([1 << 40])).floatTensor().scalars, [0x1p40])
        XCTAssertEqual(try NpyArray(shape: [3], storage: .int32([-1, 0, 7])).floatTensor().scalars, [-1, 0, 7])
        XCTAssertEqual(try NpyArray(shape: [], storage: .float64([0.5])).floatTensor().shape, [])
    }

    func testIntegers() throws {
        XCTAssertEqual(try NpyArray(shape: [3], storage: .uint8([0, 9, 255])).integers(), [0, 9, 255])
        XCTAssertEqual(try NpyArray(shape: [2], storage: .int64([-5, 1 << 40])).integers(), [-5, 1 << 40])
        XCTAssertEqual(try NpyArray(shape: [2], storage: .float32([3, -1])).integers(), [3, -1])
        let error = expectNpyError { () throws(NpyError) in
            try NpyArray(shape: [3], storage: .float64([1, 2.5, 3])).integers()
        }
        XCTAssertEqual(error, .notIntegral(index: 1, value: 2.5))
        XCTAssertTrue(error?.description.contains("value 2.5 at flat index 1 is not an integer") ?? false)
        XCTAssertNotNil(
            expectNpyError { () throws(NpyError) in
                try NpyArray(shape: [1], storage: .float32([.nan])).integers()
            })
    }

    func testElementCountMustMatchShape() {
        let error = expectNpyError { () throws(NpyError) in try NpyArray(shape: [2, 2], storage: .uint8([1, 2, 3])) }
        XCTAssertEqual(error, .elementCountMismatch(shape: [2, 2], count: 3))
        XCTAssertTrue(error?.description.contains("shape (2, 2) needs 4 values") ?? false)
        XCTAssertNotNil(expectNpyError { () throws(NpyError) in try NpyArray(shape: [-1], storage: .uint8([])) })
    }

    // MARK: Performance

    func testDecodingFourMegabytesIsFast() throws {
        let count = 4 << 20
        let array = try NpyArray(
            shape: [count / 784, 28, 28],
            storage: .uint8(
                (0..<(count / 784 * 784)).map { UInt8(truncatingIfNeeded: $0) }))
        let floats = try NpyArray(shape: [count / 4], storage: .float32([Float](repeating: 1.5, count: count / 4)))
        let data = Npy.encode(array)
        let floatData = Npy.encode(floats)
        let start = Date()
        for _ in 0..<10 {
            XCTAssertEqual(try Npy.decode(data, source: "big.npy").count, array.count)
            XCTAssertEqual(try Npy.decode(floatData, source: "big.npy").count, floats.count)
        }
        let seconds = Date().timeIntervalSince(start)
        XCTAssertLessThan(seconds, 1.0, "20 decodes of 4 MB took \(seconds) s")
    }

    // MARK: Helpers

    /// A version 1.0 `.npy` file with `header` as its (unpadded) dict text.
    static func npy(header: String, data: Data = Data()) -> Data {
        let body = Array((header + "\n").utf8)
        var out = Data(Npy.magic + [1, 0, UInt8(body.count & 0xFF), UInt8(body.count >> 8)])
        out.append(contentsOf: body)
        out.append(data)
        return out
    }
}
