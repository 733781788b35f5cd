import CHDF5
import Foundation

/// An attribute as read: its type and extent, and its values when they are strings.
struct HDF5AttributeContents {
    var elementType: HDF5ElementType
    var extent: HDF5Extent
    /// The values in row-major order when the attribute's class is string; nil otherwise.
    var strings: [String]?

    /// How the attribute looks, for messages: "a scalar float64", "a float64 array of shape (0,)".
    var summary: String {
        extent.shape.isEmpty
            ? "a scalar \(elementType)" : "a \(elementType) array of shape \(HDF5Extent.tuple(extent.shape))"
    }
}

extension HDF5File {
    // MARK: - Reading

    /// Reads attribute `name` of the open object `object` (at `path`, for messages); nil when
    /// the object has no such attribute. Call only inside `HDF5Library.locked`.
    func readAttribute(_ name: String, of object: hid_t, path: String) throws(HDF5Error) -> HDF5AttributeContents? {
        guard !name.isEmpty, !name.contains("\0") else { return nil }
        let exists = H5Aexists(object, name)
        guard exists >= 0 else { throw failure("looking up attribute '\(name)' of", path: path) }
        guard exists > 0 else { return nil }
        let attribute = H5Aopen(object, name, HDF5Library.defaultPlist)
        guard attribute >= 0 else { throw failure("opening attribute '\(name)' of", path: path) }
        defer { H5Aclose(attribute) }
        let space = H5Aget_space(attribute)
        guard space >= 0 else { throw failure("reading the extent of attribute '\(name)' of", path: path) }
        defer { H5Sclose(space) }
        let type = H5Aget_type(attribute)
        guard type >= 0 else { throw failure("reading the type of attribute '\(name)' of", path: path) }
        defer { H5Tclose(type) }
        guard let extent = HDF5Extent(space: space) else {
            HDF5Library.discardErrors()
            throw .corrupt(source: source, path: path, detail: "attribute '\(name)' has an unreadable extent")
        }
        var contents = HDF5AttributeContents(elementType: .of(type), extent: extent, strings: nil)
        guard H5Tget_class(type) == H5T_STRING, extent.count > 0 else {
            if H5Tget_class(type) == H5T_STRING { contents.strings = [] }
            return contents
        }
        // Every element takes at least one byte of the file (more for fixed-length strings),
        // so a larger count can only come from a damaged header; refuse it before allocating.
        let fixedSize = H5Tis_variable_str(type) > 0 ? 1 : max(1, H5Tget_size(type))
        let (bytes, overflow) = extent.count.multipliedReportingOverflow(by: fixedSize)
        guard !overflow, bytes <= fileSize() else {
            throw .corrupt(
                source: source, path: path,
                detail: "attribute '\(name)' declares \(extent.count) strings, more than the file can hold")
        }
        let strings =
            H5Tis_variable_str(type) > 0
            ? readVariableStrings(attribute, fileType: type, count: extent.count)
            : readFixedStrings(attribute, fileType: type, count: extent.count, size: fixedSize)
        guard let strings else { throw failure("reading attribute '\(name)' of", path: path) }
        contents.strings = strings
        return contents
    }

    /// The file's size in bytes (0 if HDF5 cannot tell). Call only inside `HDF5Library.locked`.
    func fileSize() -> Int {
        var size: hsize_t = 0
        guard H5Fget_filesize(id, &size) >= 0 else {
            HDF5Library.discardErrors()
            return 0
        }
        return Int(clamping: size)
    }

    /// Reads variable-length strings; nil when HDF5 fails.
    private func readVariableStrings(_ attribute: hid_t, fileType: hid_t, count: Int) -> [String]? {
        let memoryType = H5Tcopy(CHDF5_H5T_C_S1())
        guard memoryType >= 0 else { return nil }
        defer { H5Tclose(memoryType) }
        guard H5Tset_size(memoryType, CHDF5_H5T_VARIABLE()) >= 0,
            H5Tset_cset(memoryType, H5Tget_cset(fileType)) >= 0
        else { return nil }
        var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
        let status = pointers.withUnsafeMutableBytes { H5Aread(attribute, memoryType, $0.baseAddress) }
        // HDF5 allocates each string; free what it allocated even when the read failed midway.
        defer { for case let pointer? in pointers { H5free_memory(pointer) } }
        guard status >= 0 else { return nil }
        return pointers.map { pointer in pointer.map { String(cString: $0) } ?? "" }
    }

    /// Reads fixed-length strings of `size` bytes each, cut at the first NUL (NUL-terminated
    /// and NUL-padded, as Keras 2.4 writes them) or trimmed of trailing spaces (space-padded).
    private func readFixedStrings(_ attribute: hid_t, fileType: hid_t, count: Int, size: Int) -> [String]? {
        var bytes = [UInt8](repeating: 0, count: count * size)
        let status = bytes.withUnsafeMutableBytes { H5Aread(attribute, fileType, $0.baseAddress) }
        guard status >= 0 else { return nil }
        let spacePadded = H5Tget_strpad(fileType) == H5T_STR_SPACEPAD
        return (0..<count).map { index in
            var element = bytes[(index * size)..<((index + 1) * size)]
            if let end = element.firstIndex(of: 0) { element = element[..<end] }
            if spacePadded {
                while element.last == UInt8(ascii: " ") { element = element.dropLast() }
            }
            return String(decoding: element, as: UTF8.self)
        }
    }

    // MARK: - Writing

    /// Writes (or replaces) attribute `name` of the open object `object` (at `path`, for
    /// messages): variable-length strings, a scalar when `scalar`, else a 1-D array.
    /// Call only inside `HDF5Library.locked`.
    func writeStringsAttribute(
        _ name: String, _ values: [String], scalar: Bool, utf8: Bool, on object: hid_t, path: String
    ) throws(HDF5Error) {
        if let bad = values.first(where: { $0.contains("\0") }) {
            throw .invalidArgument(
                source: source, path: path,
                detail: "the value \(bad.debugDescription) of attribute '\(name)' holds a NUL character")
        }
        let type = H5Tcopy(CHDF5_H5T_C_S1())
        guard type >= 0 else { throw failure("creating a string type for attribute '\(name)' of", path: path) }
        defer { H5Tclose(type) }
        guard H5Tset_size(type, CHDF5_H5T_VARIABLE()) >= 0,
            H5Tset_cset(type, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII) >= 0
        else { throw failure("creating a string type for attribute '\(name)' of", path: path) }
        let space = HDF5Extent.createSpace(scalar ? [] : [values.count])
        guard space >= 0 else { throw failure("creating the extent of attribute '\(name)' of", path: path) }
        defer { H5Sclose(space) }
        let attribute = try createAttribute(name, type: type, space: space, on: object, path: path)
        defer { H5Aclose(attribute) }
        let copies = values.map { strdup($0) }
        defer { for case let copy? in copies { free(copy) } }
        guard !copies.contains(where: { $0 == nil }) else {
            throw .invalidArgument(source: source, path: path, detail: "out of memory copying attribute '\(name)'")
        }
        let pointers = copies.map { UnsafePointer<CChar>($0) }
        let status = pointers.withUnsafeBytes { H5Awrite(attribute, type, $0.baseAddress) }
        guard status >= 0 else { throw failure("writing attribute '\(name)' of", path: path) }
    }

    /// Writes (or replaces) attribute `name` as an empty float64 array of shape (0,): what h5py
    /// (and so Keras) writes for an empty list, and what Keras readers expect.
    func writeEmptyArrayAttribute(_ name: String, on object: hid_t, path: String) throws(HDF5Error) {
        let space = HDF5Extent.createSpace([0])
        guard space >= 0 else { throw failure("creating the extent of attribute '\(name)' of", path: path) }
        defer { H5Sclose(space) }
        let attribute = try createAttribute(name, type: CHDF5_H5T_IEEE_F64LE(), space: space, on: object, path: path)
        H5Aclose(attribute)
    }

    /// Creates attribute `name`, deleting an existing one of that name first; the caller closes it.
    private func createAttribute(
        _ name: String, type: hid_t, space: hid_t, on object: hid_t, path: String
    ) throws(HDF5Error) -> hid_t {
        guard !name.isEmpty, !name.contains("\0") else {
            throw .invalidArgument(
                source: source, path: path,
                detail: "attribute name \(name.debugDescription) is empty or holds a NUL character")
        }
        let exists = H5Aexists(object, name)
        guard exists >= 0 else { throw failure("looking up attribute '\(name)' of", path: path) }
        if exists > 0, H5Adelete(object, name) < 0 {
            throw failure("replacing attribute '\(name)' of", path: path)
        }
        let attribute = H5Acreate2(object, name, type, space, HDF5Library.defaultPlist, HDF5Library.defaultPlist)
        guard attribute >= 0 else { throw failure("creating attribute '\(name)' of", path: path) }
        return attribute
    }
}
