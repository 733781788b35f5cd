import CHDF5

extension HDF5Group {
    /// Creates the group at `relativePath` with any missing intermediate groups, like
    /// `mkdir -p`: an existing group is returned as it is; a dataset in the way is an error.
    @discardableResult
    public func createGroup(_ relativePath: String) throws(HDF5Error) -> HDF5Group {
        let target = try writablePath(relativePath, what: "group")
        return try HDF5Library.locked { () throws(HDF5Error) -> HDF5Group in
            switch file.objectKind(at: target) {
            case .group?: return HDF5Group(file: file, path: target)
            case let found?:
                throw .wrongObjectKind(source: source, path: target, expected: "group", found: found.rawValue)
            case nil: break
            }
            try file.checkAncestorsAreGroups(of: target)
            let lcpl = try file.intermediateGroupsList(path: target)
            defer { H5Pclose(lcpl) }
            let group = H5Gcreate2(file.id, target, lcpl, HDF5Library.defaultPlist, HDF5Library.defaultPlist)
            guard group >= 0 else { throw file.failure("creating group", path: target) }
            H5Gclose(group)
            return HDF5Group(file: file, path: target)
        }
    }

    /// Writes a contiguous little-endian float32 dataset of `shape` (`[]` = scalar) holding
    /// `values` in row-major order. Missing intermediate groups are created; an existing
    /// object at that path is an error (`.alreadyExists`).
    public func writeDataset(_ name: String, shape: [Int], values: [Float]) throws(HDF5Error) {
        try writeNumeric(
            name, shape: shape, values: values, fileType: CHDF5_H5T_IEEE_F32LE(),
            memoryType: CHDF5_H5T_NATIVE_FLOAT())
    }

    /// Writes a contiguous little-endian int64 dataset (Keras stores Normalization's `count`
    /// and the optimizer's `iterations` as int64 scalars).
    public func writeInt64Dataset(_ name: String, shape: [Int], values: [Int64]) throws(HDF5Error) {
        try writeNumeric(
            name, shape: shape, values: values, fileType: CHDF5_H5T_STD_I64LE(),
            memoryType: CHDF5_H5T_NATIVE_INT64())
    }

    /// Writes (or replaces) a scalar variable-length string attribute on this group, with the
    /// UTF-8 character set (as Keras 3 writes `name`) or ASCII (as it writes `backend`).
    public func writeStringAttribute(_ name: String, _ value: String, utf8: Bool = true) throws(HDF5Error) {
        try HDF5Library.locked { () throws(HDF5Error) in
            try file.withObject(at: path, expected: .group) { group throws(HDF5Error) in
                try file.writeStringsAttribute(name, [value], scalar: true, utf8: utf8, on: group, path: path)
            }
        }
    }

    /// Writes (or replaces) a 1-D array attribute of variable-length strings, ASCII by default
    /// as Keras writes `layer_names` and `weight_names`. An empty list is written as an empty
    /// float64 array of shape (0,), exactly as h5py (and so Keras) writes it.
    ///
    /// HDF5 keeps attributes in the object header, which holds about 64 KB: a list much longer
    /// than about 4,000 names fails (Keras splits such lists into `name0`, `name1`, …).
    public func writeStringArrayAttribute(_ name: String, _ values: [String], utf8: Bool = false) throws(HDF5Error) {
        try HDF5Library.locked { () throws(HDF5Error) in
            try file.withObject(at: path, expected: .group) { group throws(HDF5Error) in
                if values.isEmpty {
                    try file.writeEmptyArrayAttribute(name, on: group, path: path)
                } else {
                    try file.writeStringsAttribute(name, values, scalar: false, utf8: utf8, on: group, path: path)
                }
            }
        }
    }

    // MARK: - Helpers

    /// Writes a new contiguous dataset whose elements are stored as `fileType`.
    private func writeNumeric<T>(
        _ name: String, shape: [Int], values: [T], fileType: hid_t, memoryType: hid_t
    ) throws(HDF5Error) {
        let target = try writablePath(name, what: "dataset")
        let count = try HDF5Extent.validatedCount(shape, source: source, path: target)
        guard count == values.count else {
            throw .invalidArgument(
                source: source, path: target,
                detail: "shape \(HDF5Extent.tuple(shape)) needs \(count) values, got \(values.count)")
        }
        try HDF5Library.locked { () throws(HDF5Error) in
            guard file.objectKind(at: target) == nil else { throw .alreadyExists(source: source, path: target) }
            try file.checkAncestorsAreGroups(of: target)
            let lcpl = try file.intermediateGroupsList(path: target)
            defer { H5Pclose(lcpl) }
            let space = HDF5Extent.createSpace(shape)
            guard space >= 0 else { throw file.failure("creating the extent of dataset", path: target) }
            defer { H5Sclose(space) }
            let dataset = H5Dcreate2(
                file.id, target, fileType, space, lcpl, HDF5Library.defaultPlist, HDF5Library.defaultPlist)
            guard dataset >= 0 else { throw file.failure("creating dataset", path: target) }
            defer { H5Dclose(dataset) }
            guard count > 0 else { return }
            let status = values.withUnsafeBytes {
                H5Dwrite(
                    dataset, memoryType, CHDF5_H5S_ALL(), CHDF5_H5S_ALL(), HDF5Library.defaultPlist, $0.baseAddress)
            }
            guard status >= 0 else { throw file.failure("writing dataset", path: target) }
        }
    }

    /// `relativePath` resolved for a new object: it must name something below this group.
    private func writablePath(_ relativePath: String, what: String) throws(HDF5Error) -> String {
        guard let target = HDF5Path.resolve(relativePath, against: path) else {
            throw .invalidArgument(
                source: source, path: path,
                detail: "the \(what) name \(relativePath.debugDescription) holds a NUL character")
        }
        guard target != "/" else {
            throw .invalidArgument(
                source: source, path: path, detail: "the \(what) name \(relativePath.debugDescription) names the root")
        }
        return target
    }
}
