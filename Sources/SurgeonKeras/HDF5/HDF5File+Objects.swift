import CHDF5

/// The kinds of object an HDF5 link can lead to.
enum HDF5ObjectKind: String {
    case group
    case dataset
    case namedDatatype = "named datatype"
}

extension HDF5File {
    /// The kind of the object at the absolute `path`, or nil when no link leads to an object
    /// there (a missing name on the way, a name below a dataset, a dangling soft link). Reads
    /// the object's header but decodes none of its messages.
    /// Call only inside `HDF5Library.locked`.
    func objectKind(at path: String) -> HDF5ObjectKind? {
        guard !path.contains("\0") else { return nil }
        let components = HDF5Path.components(of: path)
        // H5Lexists checks only the last name of a path, so each prefix is checked in turn.
        for count in stride(from: 1, through: components.count, by: 1) {
            let prefix = HDF5Path.absolute(Array(components[..<count]))
            guard H5Lexists(id, prefix, HDF5Library.defaultPlist) > 0 else {
                HDF5Library.discardErrors()
                return nil
            }
        }
        guard let (kind, _) = objectInfo(at: path) else { return nil }
        return kind
    }

    /// The kind and header address of the object at the absolute `path`; nil when HDF5
    /// cannot find it. Call only inside `HDF5Library.locked`.
    private func objectInfo(at path: String) -> (HDF5ObjectKind?, haddr_t)? {
        var type = H5O_TYPE_UNKNOWN
        var address: haddr_t = 0
        guard CHDF5_object_info(id, path, &type, &address) >= 0 else {
            HDF5Library.discardErrors()
            return nil
        }
        switch type {
        case H5O_TYPE_GROUP: return (.group, address)
        case H5O_TYPE_DATASET: return (.dataset, address)
        case H5O_TYPE_NAMED_DATATYPE: return (.namedDatatype, address)
        default: return (nil, address)
        }
    }

    /// Opens the object at the absolute `path`, which must be of kind `expected`, runs `body`
    /// with its identifier and closes it. The object's header is checked first (`checkHeader`).
    /// Call only inside `HDF5Library.locked`.
    func withObject<T>(
        at path: String, expected: HDF5ObjectKind, _ body: (hid_t) throws(HDF5Error) -> T
    ) throws(HDF5Error) -> T {
        try requireKind(expected, at: path)
        try checkHeader(at: path)
        let object = H5Oopen(id, path, HDF5Library.defaultPlist)
        guard object >= 0 else { throw failure("opening \(expected.rawValue)", path: path) }
        defer { H5Oclose(object) }
        return try body(object)
    }

    /// Throws unless the object at the absolute `path` is of kind `expected`: `.noGroup` /
    /// `.noDataset` when there is none, `.wrongObjectKind` when it is of another kind.
    /// Call only inside `HDF5Library.locked`.
    func requireKind(_ expected: HDF5ObjectKind, at path: String) throws(HDF5Error) {
        try requireHardLinks(to: path)
        switch objectKind(at: path) {
        case expected?:
            return
        case let found?:
            throw .wrongObjectKind(source: source, path: path, expected: expected.rawValue, found: found.rawValue)
        case nil:
            throw expected == .dataset ? .noDataset(source: source, path: path) : .noGroup(source: source, path: path)
        }
    }

    /// Throws `.outsideReference` when a link on the way to the absolute `path` (or `path`
    /// itself) is not a hard link: an external link names another file, a soft or user-defined
    /// link may lead out of the file. Each link is inspected without being followed, and the
    /// walk stops at the first missing name (the caller reports it).
    /// Call only inside `HDF5Library.locked`.
    func requireHardLinks(to path: String) throws(HDF5Error) {
        guard !path.contains("\0") else { return }
        let components = HDF5Path.components(of: path)
        for count in stride(from: 1, through: components.count, by: 1) {
            let prefix = HDF5Path.absolute(Array(components[..<count]))
            let type = CHDF5_link_type(id, prefix)
            guard type >= 0 else {
                HDF5Library.discardErrors()
                return
            }
            switch H5L_type_t(rawValue: type) {
            case H5L_TYPE_HARD: continue
            case H5L_TYPE_EXTERNAL: throw .outsideReference(source: source, path: prefix, what: "an external link")
            case H5L_TYPE_SOFT: throw .outsideReference(source: source, path: prefix, what: "a soft link")
            default: throw .outsideReference(source: source, path: prefix, what: "a user-defined link (type \(type))")
            }
        }
    }

    /// Throws `.wrongObjectKind` when something on the way to the absolute `path` (not `path`
    /// itself) exists and is not a group, so a new object cannot be created there.
    /// Call only inside `HDF5Library.locked`.
    func checkAncestorsAreGroups(of path: String) throws(HDF5Error) {
        let components = HDF5Path.components(of: path)
        for count in stride(from: 1, to: components.count, by: 1) {
            let prefix = HDF5Path.absolute(Array(components[..<count]))
            switch objectKind(at: prefix) {
            case nil: return
            case .group?: continue
            case let found?:
                throw .wrongObjectKind(source: source, path: prefix, expected: "group", found: found.rawValue)
            }
        }
    }

    // MARK: - Guarding

    /// Runs `HDF5ImageGuard` over the header of the object at the absolute `path` (once per
    /// object), before HDF5 opens it, when the file was opened from an image.
    /// Call only inside `HDF5Library.locked`.
    func checkHeader(at path: String) throws(HDF5Error) {
        guard let (check, address) = try guardAndAddress(at: path), !checkedObjects.contains(address) else { return }
        if case let .damaged(detail) = check.checkHeader(at: UInt64(address)) {
            throw .corrupt(source: source, path: path, detail: "its object header is damaged: \(detail)")
        }
        checkedObjects.insert(address)
    }

    /// The image guard and the header address of the object at the absolute `path`; nil when
    /// the file was created in memory or its superblock could not be parsed.
    /// Call only inside `HDF5Library.locked`.
    func guardAndAddress(at path: String) throws(HDF5Error) -> (HDF5ImageGuard, haddr_t)? {
        guard let openedImage else { return nil }
        if imageGuard == nil { imageGuard = .some(HDF5ImageGuard(image: openedImage)) }
        guard case let .some(.some(check)) = imageGuard else { return nil }
        guard let (_, address) = objectInfo(at: path) else { throw failure("locating the header of", path: path) }
        return (check, address)
    }

    // MARK: - Writing

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
