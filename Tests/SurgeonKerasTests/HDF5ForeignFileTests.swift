import Foundation
import XCTest

@testable import SurgeonKeras

/// Files shaped like other writers' (Keras 2.4's fixed-length strings, float16 / float64 /
/// bfloat16 weights), built through the raw C API, then read through the wrapper.
final class HDF5ForeignFileTests: XCTestCase {
    private func reopened(_ file: HDF5File) throws -> HDF5File {
        try HDF5File(image: try file.image(), source: "foreign.h5")
    }

    func testFixedLengthStringArray_readsAsKeras24WritesIt() throws {
        let written = try HDF5File(creatingInMemory: "k24.h5")
        let names = ["img", "stem_conv", "head"]
        try RawHDF5.writeFixedLengthStrings(names, attribute: "layer_names", on: written.root)
        try RawHDF5.writeFixedLengthStrings(["x"], attribute: "one", on: written.root)
        let file = try reopened(written)
        XCTAssertEqual(try file.root.stringArrayAttribute("layer_names"), names)
        XCTAssertEqual(try file.root.stringArrayAttribute("one"), ["x"])
        XCTAssertEqual(try file.root.stringAttribute("one"), "x", "a one-element array reads as a string")
    }

    func testFixedLengthScalarString_isCutAtItsPadding() throws {
        let written = try HDF5File(creatingInMemory: "k24.h5")
        try RawHDF5.writeFixedLengthString("2.4.0", width: 12, attribute: "keras_version", on: written.root)
        let file = try reopened(written)
        XCTAssertEqual(try file.root.stringAttribute("keras_version"), "2.4.0")
        XCTAssertEqual(try file.root.stringArrayAttribute("keras_version"), ["2.4.0"])
    }

    func testEmptyFloat64Attribute_isAnEmptyStringArray() throws {
        let written = try HDF5File(creatingInMemory: "k.h5")
        try RawHDF5.writeDoubles([], attribute: "weight_names", on: written.root)
        let file = try reopened(written)
        XCTAssertEqual(try file.root.stringArrayAttribute("weight_names"), [])
    }

    func testNonEmptyNumericAttribute_isNotAStringArray() throws {
        let written = try HDF5File(creatingInMemory: "k.h5")
        try RawHDF5.writeDoubles([1, 2, 3], attribute: "weight_names", on: written.root)
        let file = try reopened(written)
        let error = expectHDF5Error { () throws(HDF5Error) in try file.root.stringArrayAttribute("weight_names") }
        XCTAssertEqual(
            error,
            .unsupportedAttribute(
                source: "foreign.h5", path: "/", name: "weight_names", found: "a float64 array of shape (3,)",
                expected: "a 1-D array of strings"))
        XCTAssertEqual(
            error?.description,
            "foreign.h5: attribute 'weight_names' of '/' is a float64 array of shape (3,), not a 1-D array of strings")
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try file.root.stringAttribute("weight_names") }?.description,
            "foreign.h5: attribute 'weight_names' of '/' is a float64 array of shape (3,), not a string")
    }

    func testStringArray_isNotASingleString() throws {
        let written = try HDF5File(creatingInMemory: "k.h5")
        try written.root.writeStringArrayAttribute("names", ["a", "b"])
        let file = try reopened(written)
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try file.root.stringAttribute("names") },
            .unsupportedAttribute(
                source: "foreign.h5", path: "/", name: "names", found: "a variable-length string array of shape (2,)",
                expected: "a string"))
    }

    func testFloat64Dataset_readsAsFloat() throws {
        let written = try HDF5File(creatingInMemory: "k.h5")
        let doubles: [Double] = [0.1, -2.5, 1e-3, 123456.789, 1e300, -1e300]
        try RawHDF5.writeFloat64Dataset("/w", shape: [2, 3], values: doubles, in: written)
        try RawHDF5.writeFloat64Dataset("/be", shape: [2], values: [1.5, -0.25], bigEndian: true, in: written)
        let file = try reopened(written)
        let dataset = try file.root.dataset("w")
        XCTAssertEqual(dataset.elementType, .float64)
        XCTAssertEqual(dataset.shape, [2, 3])
        XCTAssertEqual(try dataset.readFloats(), [0.1, -2.5, 1e-3, 123456.789, .infinity, -.infinity])
        XCTAssertEqual(try file.root.dataset("be").readFloats(), [1.5, -0.25])
    }

    func testFloat16Dataset_readsAsFloat() throws {
        let written = try HDF5File(creatingInMemory: "k.h5")
        let values: [Float] = [0, 1, -2, 0.5, 65504, -0.000061035156, 0.333251953125]
        try RawHDF5.writeFloat16Dataset("/h", shape: [values.count], values: values, in: written)
        let file = try reopened(written)
        let dataset = try file.root.dataset("h")
        XCTAssertEqual(dataset.elementType, .float16)
        XCTAssertEqual(try dataset.readFloats(), values, "all of these are exact in float16")
    }

    func testBFloat16Dataset_readsAsFloat() throws {
        let written = try HDF5File(creatingInMemory: "k.h5")
        let values: [Float] = [1, -2, 0.5, 3.140625, 0]
        let bits = values.map { UInt16($0.bitPattern >> 16) }
        try RawHDF5.writeBFloat16Dataset("/b", shape: [values.count], bits: bits, in: written)
        let file = try reopened(written)
        let dataset = try file.root.dataset("b")
        XCTAssertEqual(dataset.elementType, .bfloat16)
        XCTAssertEqual(try dataset.stringAttribute("dtype"), "bfloat16")
        XCTAssertEqual(try dataset.readFloats(), values)
    }

    func testStringDataset_cannotBeReadAsNumbers() throws {
        let written = try HDF5File(creatingInMemory: "k.h5")
        try RawHDF5.writeStringDataset("/s", values: ["a", "b"], in: written)
        let file = try reopened(written)
        let dataset = try file.root.dataset("s")
        XCTAssertEqual(dataset.elementType, .other("variable-length string"))
        let error = expectHDF5Error { () throws(HDF5Error) in try dataset.readFloats() }
        XCTAssertEqual(
            error,
            .unsupportedElementType(
                source: "foreign.h5", path: "/s", elementType: "variable-length string", requested: "Float"))
        XCTAssertEqual(
            error?.description,
            "foreign.h5: dataset '/s' holds variable-length string elements, which cannot be read as Float")
    }

    func testFloatDataset_cannotBeReadAsInt64() throws {
        let written = try HDF5File(creatingInMemory: "k.h5")
        try written.root.writeDataset("f", shape: [1], values: [1])
        let file = try reopened(written)
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try file.root.dataset("f").readInt64s() },
            .unsupportedElementType(source: "foreign.h5", path: "/f", elementType: "float32", requested: "Int64"))
    }

    func testOpaqueWithoutKerasMarker_isOther() throws {
        let written = try HDF5File(creatingInMemory: "k.h5")
        try RawHDF5.writeBFloat16Dataset("/unmarked", shape: [1], bits: [0x3F80], dtype: nil, in: written)
        try RawHDF5.writeBFloat16Dataset("/other", shape: [1], bits: [0x3F80], dtype: "float16", in: written)
        let file = try reopened(written)
        for name in ["unmarked", "other"] {
            let dataset = try file.root.dataset(name)
            XCTAssertEqual(dataset.elementType, .other("opaque (2 bytes)"), name)
            XCTAssertEqual(
                expectHDF5Error { () throws(HDF5Error) in try dataset.readFloats() },
                .unsupportedElementType(
                    source: "foreign.h5", path: "/\(name)", elementType: "opaque (2 bytes)", requested: "Float"))
        }
    }

    func testChunkedCompressedDataset_reads() throws {
        let written = try HDF5File(creatingInMemory: "k.h5")
        let values = (0..<60).map { Float($0) / 4 }
        try RawHDF5.writeCompressedDataset("/z", shape: [6, 10], values: values, chunk: [4, 4], in: written)
        let dataset = try reopened(written).root.dataset("z")
        XCTAssertEqual(dataset.shape, [6, 10])
        XCTAssertEqual(try dataset.readFloats(), values)
    }

    func testImageThatIsASliceOfLargerData_opens() throws {
        let written = try HDF5File(creatingInMemory: "k.h5")
        try written.root.writeStringAttribute("name", "sliced")
        try written.root.writeDataset("v", shape: [3], values: [1, 2, 3])
        let archive = Data(repeating: 0xAB, count: 37) + (try written.image()) + Data(repeating: 0xCD, count: 5)
        let member = archive[37..<(archive.count - 5)]
        XCTAssertEqual(member.startIndex, 37)
        let file = try HDF5File(image: member, source: "archive.zip: member.h5")
        XCTAssertEqual(try file.root.stringAttribute("name"), "sliced")
        XCTAssertEqual(try file.root.dataset("v").readFloats(), [1, 2, 3])
    }
}
