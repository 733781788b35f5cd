import Foundation
import XCTest

@testable import SurgeonKeras

/// Damaged images must give an `HDF5Error` and never crash or hang the process.
final class HDF5CorruptionTests: XCTestCase {
    func testTruncatedImages_areNotHDF5() throws {
        let image = try kerasLikeImage()
        let cuts =
            [1, 7, 8, 9, 40, 95, 96, 512, 800, 2048, image.count / 2, image.count - 100, image.count - 1]
            + Array(stride(from: 3, to: image.count, by: 211))
        for cut in cuts {
            let error = expectHDF5Error { () throws(HDF5Error) in
                try HDF5File(image: image.prefix(cut), source: "cut.h5")
            }
            guard case .notHDF5(source: "cut.h5", _)? = error else {
                XCTFail("cut at \(cut): \(String(describing: error))")
                continue
            }
        }
    }

    /// Every byte of a Keras-like file, flipped with one of four patterns in turn: opening and
    /// reading everything either succeeds (the byte was data, padding or an unused field) or
    /// throws. Before `HDF5AttributeGuard`, 183 of these flips crashed HDF5 1.10.8 and 32 hung it.
    func testEveryFlippedByte_givesAnErrorOrAFile() throws {
        let image = try kerasLikeImage()
        let patterns: [UInt8] = [0xFF, 0x01, 0x80, 0x10]
        var failures: [String: Int] = [:]
        var guarded = 0
        var read = 0
        for position in 0..<image.count {
            var bytes = image
            bytes[position] ^= patterns[position % patterns.count]
            do {
                _ = try readEverything(try HDF5File(image: bytes, source: "flipped.h5").root)
                read += 1
            } catch {
                failures[error.description, default: 0] += 1
                if case .corrupt(_, _, let detail) = error, detail.hasPrefix("its object header is damaged") {
                    guarded += 1
                }
            }
        }
        XCTAssertEqual(read + failures.values.reduce(0, +), image.count)
        XCTAssertGreaterThan(failures.count, 10, "flips in metadata are detected")
        XCTAssertGreaterThan(guarded, 0, "the image guard rejected some")
    }

    func testDamagedHeapLength_isRejectedBeforeHDF5ReadsIt() throws {
        // A vlen string's stored length (4 bytes before its heap address) made huge: HDF5 1.10
        // would allocate and clear that many bytes, then copy the heap object out of bounds.
        let written = try HDF5File(creatingInMemory: "w.h5")
        try written.root.writeStringAttribute("keras_version", "3.15.1")
        var image = try written.image()
        let value = Array("3.15.1".utf8)
        XCTAssertNotNil(image.firstRange(of: value), "the heap holds the string")
        let lengthField: [UInt8] = [6, 0, 0, 0]
        guard let field = image.firstRange(of: lengthField) else { return XCTFail("no length field found") }
        image[field.lowerBound + 3] = 0x40
        let file = try HDF5File(image: image, source: "bad.h5")
        let error = expectHDF5Error { () throws(HDF5Error) in try file.root.stringAttribute("keras_version") }
        XCTAssertEqual(
            error,
            .corrupt(
                source: "bad.h5", path: "/",
                detail: "its object header is damaged: a variable-length attribute value "
                    + "does not match its global heap object"))
    }

    func testOldLayoutVersion_isRefusedBeforeHDF5ReadsIt() throws {
        // HDF5 1.10.8 misreads a version 3 layout message relabelled as version 2 and copies
        // from a null pointer in H5Dread.
        let written = try HDF5File(creatingInMemory: "w.h5")
        try written.root.writeDataset("v", shape: [4], values: [1, 2, 3, 4])
        var image = try written.image()
        // A version 1 header message: type 8 (layout), 24 bytes, flags; then version 3, contiguous.
        let layout: [UInt8] = [0x08, 0x00, 0x18, 0x00]
        guard let found = image.firstRange(of: layout), image[found.lowerBound + 8] == 3 else {
            return XCTFail("no layout message found")
        }
        image[found.lowerBound + 8] = 2
        let file = try HDF5File(image: image, source: "old.h5")
        XCTAssertTrue(file.root.isDataset("v"), "the kind is known without decoding the layout")
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try file.root.dataset("v") },
            .corrupt(
                source: "old.h5", path: "/v",
                detail: "its object header is damaged: the dataset's layout message has version 2; "
                    + "surgeon reads versions 3 and 4"))
    }

    /// HDF5 allocates the root group's declared header size while it opens the file: 4 GiB from a
    /// 12 KB file (found by fuzz-hdf5). The header is checked against the file before.
    func testRootHeaderLargerThanTheFile_isRefusedBeforeHDF5AllocatesIt() throws {
        let written = try HDF5File(creatingInMemory: "w.h5")
        try written.root.writeDataset("v", shape: [4], values: [1, 2, 3, 4])
        var image = try written.image()
        let check = try XCTUnwrap(HDF5ImageGuard(image: image))
        let root = check.base + Int(try XCTUnwrap(check.rootObjectHeader))
        if image[root..<(root + 4)].elementsEqual("OHDR".utf8) {
            let width = 1 << Int(image[root + 5] & 0x03)
            let at = root + 6 + (image[root + 5] & 0x20 != 0 ? 16 : 0) + (image[root + 5] & 0x10 != 0 ? 4 : 0)
            for k in 0..<width { image[at + k] = 0xFF }
            image[at + width - 1] = 0x7F
        } else {
            for k in 0..<4 { image[root + 8 + k] = 0xFF }
        }
        guard
            case .notHDF5(source: "big.h5", let reason)? = expectHDF5Error({ () throws(HDF5Error) in
                try HDF5File(image: image, source: "big.h5")
            })
        else { return XCTFail("expected .notHDF5") }
        XCTAssertEqual(
            reason,
            "the root group's object header is damaged: an object header extends beyond the end of the file; the "
                + "file is damaged or cut short")
        let fuzzed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/regressions/hdf5/root-header-continuation-4gib")
        XCTAssertThrowsError(try HDF5File(image: try Data(contentsOf: fuzzed), source: "fuzzed.h5")) {
            XCTAssertTrue("\($0)".contains("the root group's object header is damaged"), "\($0)")
        }
    }

    func testDataPastTheEndOfTheFile_isRefused() throws {
        let written = try HDF5File(creatingInMemory: "w.h5")
        try written.root.writeDataset("v", shape: [4], values: [1, 2, 3, 4])
        var image = try written.image()
        let layout: [UInt8] = [0x08, 0x00, 0x18, 0x00]
        guard let found = image.firstRange(of: layout) else { return XCTFail("no layout message found") }
        // Contiguous data address (8 bytes after version and class): point it 1 MB away.
        image[found.lowerBound + 8 + 2 + 2] = 0x10
        let dataset = try HDF5File(image: image, source: "far.h5").root.dataset("v")
        guard
            case .corrupt(source: "far.h5", path: "/v", let detail)? = expectHDF5Error({ () throws(HDF5Error) in
                try dataset.readFloats()
            })
        else { return XCTFail("expected .corrupt") }
        XCTAssertEqual(detail, "a dataset's data address lies beyond the end of the file")
    }
}
