import Foundation
import XCTest

@testable import SurgeonKeras

/// Reads `Fixtures/h5py-sample.h5`, written by h5py (see `Fixtures/make_h5py_sample.py`).
final class HDF5H5pyFixtureTests: XCTestCase {
    private func sample() throws -> HDF5File {
        try HDF5File(image: try hdf5Fixture("h5py-sample.h5"), source: "h5py-sample.h5")
    }

    func testRootAttributes_readAsH5pyWroteThem() throws {
        let root = try sample().root
        XCTAssertEqual(try root.stringAttribute("keras_version"), "3.15.1")
        XCTAssertEqual(try root.stringAttribute("backend"), "tensorflow")
        XCTAssertEqual(try root.stringArrayAttribute("layer_names"), ["dense", "norm"])
        XCTAssertEqual(try root.childNames(), ["layers", "legacy"])
    }

    func testGroupAttributes_includingUTF8AndTheEmptyList() throws {
        let vars = try sample().root.group("layers/dense/vars")
        XCTAssertEqual(vars.path, "/layers/dense/vars")
        XCTAssertEqual(try vars.stringAttribute("name"), "dense_é")
        XCTAssertEqual(try vars.stringArrayAttribute("weight_names"), [])
        XCTAssertEqual(try vars.childNames(), ["0", "1", "2", "3"])
    }

    func testDatasets_readExactly() throws {
        let vars = try sample().root.group("layers/dense/vars")
        let kernel = try vars.dataset("0")
        XCTAssertEqual(kernel.shape, [2, 3])
        XCTAssertEqual(kernel.elementType, .float32)
        XCTAssertEqual(try kernel.readFloats(), [-1, -0.5, 0, 0.5, 1, 1.5])

        let count = try vars.dataset("1")
        XCTAssertEqual(count.shape, [])
        XCTAssertEqual(count.elementType, .integer(bits: 64, signed: true))
        XCTAssertEqual(try count.readInt64s(), [10_000_000_007])

        let half = try vars.dataset("2")
        XCTAssertEqual(half.elementType, .float16)
        XCTAssertEqual(try half.readFloats(), [0.5, -2, 1024, 0.0999755859375])

        let double = try vars.dataset("3")
        XCTAssertEqual(double.elementType, .float64)
        XCTAssertEqual(double.shape, [2, 2])
        XCTAssertEqual(try double.readFloats(), [0.1, -0.2, 1e-3, 12345.678])
    }

    func testFixedLengthStringArray_readsAsKeras24WroteIt() throws {
        let legacy = try sample().root.group("legacy")
        XCTAssertEqual(try legacy.stringArrayAttribute("weight_names"), ["conv/kernel:0", "b:0"])
    }

    /// Every seventh byte flipped (the full sweep, every byte with four patterns, was run by
    /// hand: no crash).
    func testFlippedBytesOfTheH5pyFile_giveAnErrorOrAFile() throws {
        let image = try hdf5Fixture("h5py-sample.h5")
        let patterns: [UInt8] = [0xFF, 0x01, 0x80, 0x10]
        var read = 0, failed = 0
        for position in stride(from: 0, to: image.count, by: 7) {
            var bytes = image
            bytes[position] ^= patterns[(position / 7) % patterns.count]
            do {
                _ = try readEverything(try HDF5File(image: bytes, source: "flipped.h5").root)
                read += 1
            } catch {
                failed += 1
            }
        }
        XCTAssertGreaterThan(failed, 0)
        XCTAssertGreaterThan(read, 0)
    }
}
