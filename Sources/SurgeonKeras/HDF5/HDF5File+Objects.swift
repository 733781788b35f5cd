import CHDF5

/// The kinds of object an HDF5 link can lead to.
enum HDF5ObjectKind: String {
    case group
    case dataset
    case namedDatatype = "named datatype"
}

extension HDF5File {
    /// The kind of the object at the absolute `path`, or nil when no link leads to an object
    /// there (a missing name on the way, a name below a dataset, a dangling soft link).
    /// Call only inside `HDF5Library.locked`.
    func objectKind(at path: String) -> HDF5ObjectKind? {
        guard !path.contains("\0") else { return nil }
        let components = HDF5Path.components(of: path)
        guard !components.isEmpty else { return .group }
        // H5Lexists checks only the last name of a path, so each prefix is checked in turn.
        for count in 1...components.count {
            let prefix = HDF5Path.absolute(Array(components[..<count]))
            guard H5Lexists(id, prefix, HDF5Library.defaultPlist) > 0 else {
                HDF5Library.discardErrors()
                return nil
            }
        }
        guard H5Oexists_by_name(id, path, HDF5Library.defaultPlist) > 0 else {
            HDF5Library.discardErrors()
            return nil
        }
        let object = H5Oopen(id, path, HDF5Library.defaultPlist)
        guard object >= 0 else {
            HDF5Library.discardErrors()
            return nil
        }
        defer { H5Oclose(object) }
        switch H5Iget_type(object) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        case H5I_DATATYPE: return .namedDatatype
        default: return nil
        }
    }

    /// Opens the object at the absolute `path`, which must be of kind `expected`, runs `body`
    /// with its identifier and closes it. Call only inside `HDF5Library.locked`.
    func withObject<T>(
        at path: String, expected: HDF5ObjectKind, _ body: (hid_t) throws(HDF5Error) -> T
    ) throws(HDF5Error) -> T {
        switch objectKind(at: path) {
        case expected?:
            break
        case let found?:
            throw .wrongObjectKind(source: source, path: path, expected: expected.rawValue, found: found.rawValue)
        case nil:
            throw expected == .dataset ? .noDataset(source: source, path: path) : .noGroup(source: source, path: path)
        }
        let object = H5Oopen(id, path, HDF5Library.defaultPlist)
        guard object >= 0 else { throw failure("opening \(expected.rawValue)", path: path) }
        defer { H5Oclose(object) }
        return try body(object)
    }

    /// A link-creation property list that creates missing intermediate groups; the caller
    /// closes it. Call only inside `HDF5Library.locked`.
    func intermediateGroupsList(path: String) throws(HDF5Error) -> hid_t {
        let lcpl = H5Pcreate(CHDF5_H5P_LINK_CREATE())
        guard lcpl >= 0 else { throw failure("creating a link-creation list for", path: path) }
        guard H5Pset_create_intermediate_group(lcpl, 1) >= 0 else {
            let error = failure("configuring a link-creation list for", path: path)
            H5Pclose(lcpl)
            throw error
        }
        return lcpl
    }
}
