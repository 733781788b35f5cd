import CHDF5

/// A group of an `HDF5File`, named by its absolute path. It keeps the file alive and opens the
/// group afresh for each call, so it holds no HDF5 resources itself.
///
/// Relative paths ("layers/conv2d/vars") are resolved against `path`; a leading "/" starts at
/// the root, as in HDF5, and empty components are ignored.
public struct HDF5Group {
    public let file: HDF5File
    /// The absolute path: "/" or "/layers/conv2d".
    public let path: String

    init(file: HDF5File, path: String) {
        self.file = file
        self.path = path
    }

    /// The file's name for messages.
    public var source: String { file.source }

    // MARK: - Navigation

    /// Whether a link at `relativePath` leads to a group or a dataset. Also true when a link on
    /// the way is not a hard link (it is not followed): `group` and `dataset` then refuse it by
    /// name rather than the caller reporting a missing name.
    public func exists(_ relativePath: String) -> Bool {
        guard let target = HDF5Path.resolve(relativePath, against: path) else { return false }
        return HDF5Library.locked {
            if case .outside = file.walkLinks(to: target) { return true }
            return [.group, .dataset].contains(file.objectKind(at: target))
        }
    }

    /// Whether a link at `relativePath` leads to a dataset.
    public func isDataset(_ relativePath: String) -> Bool {
        guard let target = HDF5Path.resolve(relativePath, against: path) else { return false }
        return HDF5Library.locked { file.objectKind(at: target) == .dataset }
    }

    /// The group at `relativePath`; `.noGroup` (naming the absolute path) when there is none,
    /// `.corrupt` when its header is damaged.
    public func group(_ relativePath: String) throws(HDF5Error) -> HDF5Group {
        let target = try resolved(relativePath, missing: { .noGroup(source: source, path: $0) })
        return try HDF5Library.locked { () throws(HDF5Error) -> HDF5Group in
            try file.requireKind(.group, at: target)
            try file.checkHeader(at: target)
            return HDF5Group(file: file, path: target)
        }
    }

    /// The dataset at `relativePath`, with its shape and element type read.
    public func dataset(_ relativePath: String) throws(HDF5Error) -> HDF5Dataset {
        let target = try resolved(relativePath, missing: { .noDataset(source: source, path: $0) })
        return try HDF5Library.locked { () throws(HDF5Error) -> HDF5Dataset in
            try HDF5Dataset(file: file, path: target)
        }
    }

    /// The names of the links in this group, in HDF5's name order: byte-wise, so "10" sorts
    /// before "2" (Keras's `vars/0`, `vars/1`, … must be sorted numerically by the caller).
    /// Creation order is not used because h5py and Keras do not record it.
    public func childNames() throws(HDF5Error) -> [String] {
        try HDF5Library.locked { () throws(HDF5Error) -> [String] in
            try file.withObject(at: path, expected: .group) { group throws(HDF5Error) -> [String] in
                var info = H5G_info_t()
                guard H5Gget_info(group, &info) >= 0 else { throw file.failure("listing group", path: path) }
                var names: [String] = []
                var index: hsize_t = 0
                while index < info.nlinks {
                    names.append(try linkName(in: group, at: index))
                    index += 1
                }
                return names
            }
        }
    }

    /// The name of link number `index` (in name order) of the open group `group`.
    private func linkName(in group: hid_t, at index: hsize_t) throws(HDF5Error) -> String {
        let dot = "."
        let length = H5Lget_name_by_idx(group, dot, H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, HDF5Library.defaultPlist)
        guard length >= 0 else { throw file.failure("listing group", path: path) }
        var buffer = [CChar](repeating: 0, count: length + 1)
        let copied = H5Lget_name_by_idx(
            group, dot, H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, HDF5Library.defaultPlist)
        guard copied == length else { throw file.failure("listing group", path: path) }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - Attributes

    /// A scalar string attribute: variable-length or fixed-length (NUL-padded, as Keras 2.4
    /// writes), ASCII or UTF-8. Nil when absent; `.unsupportedAttribute` when it is not a single
    /// string (a one-element string array is accepted).
    public func stringAttribute(_ name: String) throws(HDF5Error) -> String? {
        try HDF5Library.locked { () throws(HDF5Error) -> String? in
            try file.withObject(at: path, expected: .group) { group throws(HDF5Error) -> String? in
                try file.readAttribute(name, of: group, path: path).map { contents throws(HDF5Error) in
                    try contents.singleString(name: name, source: source, path: path)
                }
            }
        }
    }

    /// A 1-D string array attribute (variable- or fixed-length strings; a scalar string gives a
    /// one-element array). An empty attribute of any class gives `[]`: Keras writes an empty
    /// list as a float64 array of shape (0,). Nil when absent.
    public func stringArrayAttribute(_ name: String) throws(HDF5Error) -> [String]? {
        try HDF5Library.locked { () throws(HDF5Error) -> [String]? in
            try file.withObject(at: path, expected: .group) { group throws(HDF5Error) -> [String]? in
                try file.readAttribute(name, of: group, path: path).map { contents throws(HDF5Error) in
                    try contents.stringArray(name: name, source: source, path: path)
                }
            }
        }
    }

    // MARK: - Helpers

    /// `relativePath` resolved against `path`, or the `missing` error when it cannot name
    /// anything (it holds a NUL character).
    func resolved(_ relativePath: String, missing: (String) -> HDF5Error) throws(HDF5Error) -> String {
        guard let target = HDF5Path.resolve(relativePath, against: path) else {
            throw missing(path + (path.hasSuffix("/") ? "" : "/") + relativePath)
        }
        return target
    }
}

extension HDF5AttributeContents {
    /// The value of an attribute that must be one string.
    func singleString(name: String, source: String, path: String) throws(HDF5Error) -> String {
        guard let strings, strings.count == 1 else {
            throw .unsupportedAttribute(source: source, path: path, name: name, found: summary, expected: "a string")
        }
        return strings[0]
    }

    /// The values of an attribute that must be a 1-D string array (or empty, or one string).
    func stringArray(name: String, source: String, path: String) throws(HDF5Error) -> [String] {
        if extent.count == 0 { return [] }
        guard let strings, extent.shape.count <= 1 else {
            throw .unsupportedAttribute(
                source: source, path: path, name: name, found: summary, expected: "a 1-D array of strings")
        }
        return strings
    }
}
