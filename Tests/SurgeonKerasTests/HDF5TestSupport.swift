import CHDF5
import Foundation
import XCTest

@testable import SurgeonKeras

/// Runs `body`, which must throw an `HDF5Error`, and returns that error.
func expectHDF5Error<T>(
    _ body: () throws(HDF5Error) -> T, file: StaticString = #filePath, line: UInt = #line
) -> HDF5Error? {
    do {
        let value = try body()
        XCTFail("expected an HDF5Error, got \(value)", file: file, line: line)
        return nil
    } catch {
        return error
    }
}

/// The bytes of a bundled fixture such as `"h5py-sample.h5"`.
func hdf5Fixture(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Data {
    let url = URL(fileURLWithPath: name)
    guard
        let found = Bundle.module.url(
            forResource: url.deletingPathExtension().lastPathComponent, withExtension: url.pathExtension,
            subdirectory: "Fixtures")
    else {
        XCTFail("missing fixture \(name)", file: file, line: line)
        throw CocoaError(.fileNoSuchFile)
    }
    return try Data(contentsOf: found)
}

/// Writes what the wrapper itself does not write, through the raw C API, to build files as
/// other writers (Keras 2.4, float16 / float64 / bfloat16 layers) make them.
enum RawHDF5 {
    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    /// Checks an HDF5 return value (identifier or status).
    @discardableResult
    static func check<T: BinaryInteger>(_ value: T, _ what: String) throws -> T {
        guard value >= 0 else { throw Failed(description: "\(what) failed: \(HDF5Library.failureReason())") }
        return value
    }

    /// A 1-D attribute of NUL-padded fixed-length strings as wide as the longest value, as
    /// Keras 2.4 writes `layer_names` / `weight_names` (NumPy dtype `S<n>`).
    static func writeFixedLengthStrings(_ values: [String], attribute name: String, on group: HDF5Group) throws {
        try HDF5Library.locked {
            let width = max(1, values.map(\.utf8.count).max() ?? 1)
            var bytes = [UInt8](repeating: 0, count: width * values.count)
            for (index, value) in values.enumerated() {
                bytes.replaceSubrange((index * width)..<(index * width + value.utf8.count), with: Array(value.utf8))
            }
            let type = try check(H5Tcopy(CHDF5_H5T_C_S1()), "H5Tcopy")
            defer { H5Tclose(type) }
            try check(H5Tset_size(type, width), "H5Tset_size")
            try check(H5Tset_strpad(type, H5T_STR_NULLPAD), "H5Tset_strpad")
            try write(bytes, attribute: name, type: type, shape: [values.count], on: group)
        }
    }

    /// A scalar fixed-length string attribute of `width` bytes, NUL-padded.
    static func writeFixedLengthString(_ value: String, width: Int, attribute name: String, on group: HDF5Group) throws
    {
        try HDF5Library.locked {
            let bytes = Array(value.utf8) + [UInt8](repeating: 0, count: width - value.utf8.count)
            let type = try check(H5Tcopy(CHDF5_H5T_C_S1()), "H5Tcopy")
            defer { H5Tclose(type) }
            try check(H5Tset_size(type, width), "H5Tset_size")
            try check(H5Tset_strpad(type, H5T_STR_NULLPAD), "H5Tset_strpad")
            try write(bytes, attribute: name, type: type, shape: [], on: group)
        }
    }

    /// A float64 array attribute.
    static func writeDoubles(_ values: [Double], attribute name: String, on group: HDF5Group) throws {
        try HDF5Library.locked {
            try write(values, attribute: name, type: CHDF5_H5T_IEEE_F64LE(), shape: [values.count], on: group)
        }
    }

    private static func write<T>(
        _ values: [T], attribute name: String, type: hid_t, shape: [Int], on group: HDF5Group
    ) throws {
        let object = try check(H5Oopen(group.file.id, group.path, CHDF5_H5P_DEFAULT()), "H5Oopen")
        defer { H5Oclose(object) }
        let space = try check(HDF5Extent.createSpace(shape), "creating a dataspace")
        defer { H5Sclose(space) }
        let attribute = try check(
            H5Acreate2(object, name, type, space, CHDF5_H5P_DEFAULT(), CHDF5_H5P_DEFAULT()), "H5Acreate2")
        defer { H5Aclose(attribute) }
        try check(values.withUnsafeBytes { H5Awrite(attribute, type, $0.baseAddress) }, "H5Awrite")
    }

    /// A float64 dataset (little-endian, or big-endian when `bigEndian`).
    static func writeFloat64Dataset(
        _ path: String, shape: [Int], values: [Double], bigEndian: Bool = false, in file: HDF5File
    ) throws {
        try HDF5Library.locked {
            let type = bigEndian ? CHDF5_H5T_IEEE_F64BE() : CHDF5_H5T_IEEE_F64LE()
            try writeDataset(
                path, shape: shape, fileType: type, memoryType: CHDF5_H5T_NATIVE_DOUBLE(), values: values, in: file)
        }
    }

    /// An IEEE half dataset made as h5py makes NumPy's float16 (a float32 type narrowed to 16
    /// bits), written from float32 values that HDF5 converts.
    static func writeFloat16Dataset(_ path: String, shape: [Int], values: [Float], in file: HDF5File) throws {
        try HDF5Library.locked {
            let half = try check(H5Tcopy(CHDF5_H5T_IEEE_F32LE()), "H5Tcopy")
            defer { H5Tclose(half) }
            try check(H5Tset_fields(half, 15, 10, 5, 0, 10), "H5Tset_fields")
            try check(H5Tset_size(half, 2), "H5Tset_size")
            try check(H5Tset_ebias(half, 15), "H5Tset_ebias")
            try writeDataset(
                path, shape: shape, fileType: half, memoryType: CHDF5_H5T_NATIVE_FLOAT(), values: values, in: file)
        }
    }

    /// Keras 3's bfloat16: a 2-byte opaque dataset holding the raw bits, with a `dtype`
    /// attribute (none when `dtype` is nil).
    static func writeBFloat16Dataset(
        _ path: String, shape: [Int], bits: [UInt16], dtype: String? = "bfloat16", in file: HDF5File
    ) throws {
        try HDF5Library.locked {
            let opaque = try check(H5Tcreate(H5T_OPAQUE, 2), "H5Tcreate")
            defer { H5Tclose(opaque) }
            try writeDataset(
                path, shape: shape, fileType: opaque, memoryType: opaque, values: bits.map(\.littleEndian), in: file)
        }
        guard let dtype else { return }
        let dataset = try file.root.dataset(path)
        try HDF5Library.locked {
            let object = try check(H5Oopen(file.id, dataset.path, CHDF5_H5P_DEFAULT()), "H5Oopen")
            defer { H5Oclose(object) }
            try file.writeStringsAttribute("dtype", [dtype], scalar: true, utf8: true, on: object, path: dataset.path)
        }
    }

    /// A chunked, deflate-compressed float32 dataset (h5py's `compression="gzip"`).
    static func writeCompressedDataset(
        _ path: String, shape: [Int], values: [Float], chunk: [Int], in file: HDF5File
    ) throws {
        try HDF5Library.locked {
            let dcpl = try check(H5Pcreate(CHDF5_H5P_DATASET_CREATE()), "H5Pcreate")
            defer { H5Pclose(dcpl) }
            try check(H5Pset_chunk(dcpl, Int32(chunk.count), chunk.map { hsize_t($0) }), "H5Pset_chunk")
            try check(H5Pset_deflate(dcpl, 6), "H5Pset_deflate")
            let space = try check(HDF5Extent.createSpace(shape), "creating a dataspace")
            defer { H5Sclose(space) }
            let dataset = try check(
                H5Dcreate2(
                    file.id, path, CHDF5_H5T_IEEE_F32LE(), space, CHDF5_H5P_DEFAULT(), dcpl, CHDF5_H5P_DEFAULT()),
                "H5Dcreate2 \(path)")
            defer { H5Dclose(dataset) }
            try check(
                values.withUnsafeBytes {
                    H5Dwrite(
                        dataset, CHDF5_H5T_NATIVE_FLOAT(), CHDF5_H5S_ALL(), CHDF5_H5S_ALL(), CHDF5_H5P_DEFAULT(),
                        $0.baseAddress)
                }, "H5Dwrite \(path)")
        }
    }

    /// A variable-length string dataset (which must not read as numbers).
    static func writeStringDataset(_ path: String, values: [String], in file: HDF5File) throws {
        try HDF5Library.locked {
            let type = try check(H5Tcopy(CHDF5_H5T_C_S1()), "H5Tcopy")
            defer { H5Tclose(type) }
            try check(H5Tset_size(type, CHDF5_H5T_VARIABLE()), "H5Tset_size")
            let copies = values.map { strdup($0) }
            defer { copies.forEach { free($0) } }
            try writeDataset(path, shape: [values.count], fileType: type, memoryType: type, values: copies, in: file)
        }
    }

    private static func writeDataset<T>(
        _ path: String, shape: [Int], fileType: hid_t, memoryType: hid_t, values: [T], in file: HDF5File
    ) throws {
        let space = try check(HDF5Extent.createSpace(shape), "creating a dataspace")
        defer { H5Sclose(space) }
        let dataset = try check(
            H5Dcreate2(file.id, path, fileType, space, CHDF5_H5P_DEFAULT(), CHDF5_H5P_DEFAULT(), CHDF5_H5P_DEFAULT()),
            "H5Dcreate2 \(path)")
        defer { H5Dclose(dataset) }
        try check(
            values.withUnsafeBytes {
                H5Dwrite(dataset, memoryType, CHDF5_H5S_ALL(), CHDF5_H5S_ALL(), CHDF5_H5P_DEFAULT(), $0.baseAddress)
            }, "H5Dwrite \(path)")
    }
}

/// A small file with every kind of content the wrapper writes, Keras-style: scalar and array
/// variable-length string attributes (kept in a global heap), an empty list, float32 and int64
/// datasets, a group below the root. About 8 KB, half of it the global heap's minimum size.
func kerasLikeImage() throws -> Data {
    let file = try HDF5File(creatingInMemory: "sample.h5")
    try file.root.writeStringAttribute("keras_version", "3.15.1")
    try file.root.writeStringArrayAttribute("layer_names", ["conv2d", "norm"])
    let vars = try file.root.createGroup("conv2d")
    try vars.writeStringAttribute("name", "stem_conv")
    try vars.writeStringArrayAttribute("weight_names", [])
    try vars.writeDataset("0", shape: [2, 2], values: [1, 2, 3, 4])
    try vars.writeInt64Dataset("1", shape: [], values: [60_000])
    return try file.image()
}

/// Reads everything reachable from `group` through the public API (children, the attributes
/// Keras uses, every dataset's values) and returns how many values it read. Stops at
/// `depth` levels, in case a damaged file links a group into itself.
@discardableResult
func readEverything(_ group: HDF5Group, depth: Int = 8) throws(HDF5Error) -> Int {
    var count = 0
    for name in ["name", "keras_version", "backend"] { count += try group.stringAttribute(name)?.count ?? 0 }
    for name in ["layer_names", "weight_names"] { count += try group.stringArrayAttribute(name)?.count ?? 0 }
    guard depth > 0 else { return count }
    for child in try group.childNames() {
        if group.isDataset(child) {
            let dataset = try group.dataset(child)
            count += dataset.elementType.isInteger ? try dataset.readInt64s().count : try dataset.readFloats().count
        } else if group.exists(child) {
            count += try readEverything(group.group(child), depth: depth - 1)
        }
    }
    return count
}
