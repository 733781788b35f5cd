import CHDF5

/// The kinds of object an HDF5 link can lead to.
enum HDF5ObjectKind: String {
    case group
    case dataset
    case namedDatatype = "named datatype"
}

extension HDF5File {
    /// The kind of the object at the absolute `path`, or nil when no chain of hard links leads
    /// to an object there (a missing name on the way, a name below a dataset, a soft, external
    /// or user-defined link, which is never followed). Reads the object's header but decodes
    /// none of its messages.
    /// Call only inside `HDF5Library.locked`.
    func objectKind(at path: String) -> HDF5ObjectKind? {
        guard case .reached = walkLinks(to: path), let (kind, _) = objectInfo(at: path) else { return nil }
        return kind
    }

    /// The result of inspecting the links on the way to a path.
    enum LinkWalk {
        /// Every name on the way is a hard link.
        case reached
        /// A name on the way (or the last one) does not exist.
        case missing
        /// A link on the way is not a hard link: the `.outsideReference` naming it.
        case outside(HDF5Error)
    }

    /// Inspects each link on the way to the absolute `path`, `path` itself included, in order,
    /// following only the hard links already inspected: HDF5 resolves a path by following
    /// every link in it, and an external link opens the file it names (a FIFO there blocks
    /// forever), so no path reaches HDF5 before its prefixes are known to be hard links. A soft
    /// link is refused too, though it names a path in the same file: that path may itself
    /// pass through an external link, and Keras and h5py never write soft links.
    /// Call only inside `HDF5Library.locked`.
    func walkLinks(to path: String) -> LinkWalk {
        guard !path.contains("\0") else { return .missing }
        let components = HDF5Path.components(of: path)
        for count in stride(from: 1, through: components.count, by: 1) {
            let prefix = HDF5Path.absolute(Array(components[..<count]))
            let type = CHDF5_link_type(id, prefix)
            guard type >= 0 else {
                HDF5Library.discardErrors()
                return .missing
            }
            let what: String
            switch H5L_type_t(rawValue: type) {
            case H5L_TYPE_HARD: continue
            case H5L_TYPE_EXTERNAL: what = "an external link\(externalLinkTarget(at: prefix))"
            case H5L_TYPE_SOFT: what = "a soft link"
            default: what = "a user-defined link (type \(type))"
            }
            return .outside(.outsideReference(source: source, path: prefix, what: what))
        }
        return .reached
    }

    /// " to 'FILE'" for the external link at `path` (its stored value, read without following
    /// it), or "" when the value cannot be read.
    private func externalLinkTarget(at path: String) -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        guard H5Lget_val(id, path, &buffer, buffer.count, HDF5Library.defaultPlist) >= 0 else {
            HDF5Library.discardErrors()
            return ""
        }
        let name = buffer.withUnsafeBufferPointer { value -> String? in
            var file: UnsafePointer<CChar>?
            var object: UnsafePointer<CChar>?
            guard H5Lunpack_elink_val(value.baseAddress, value.count, nil, &file, &object) >= 0, let file else {
                return nil
            }
            return String(cString: file)
        }
        HDF5Library.discardErrors()
        return name.map { " to '\(HDF5ImageGuard.printable($0))'" } ?? ""
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
    /// itself) is not a hard link (`walkLinks`); a missing name is left to the caller.
    /// Call only inside `HDF5Library.locked`.
    func requireHardLinks(to path: String) throws(HDF5Error) {
        if case let .outside(error) = walkLinks(to: path) { throw error }
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
        switch check.checkHeader(at: UInt64(address)) {
        case let .damaged(detail):
            throw .corrupt(source: source, path: path, detail: "its object header is damaged: \(detail)")
        case let .outside(what):
            throw .outsideReference(source: source, path: path, what: what)
        case .valid, .unchecked:
            break
        }
        checkedObjects.insert(address)
    }

    /// The image guard and the header address of the object at the absolute `path`; nil when
    /// the file was created in memory or its superblock could not be parsed.
    /// Call only inside `HDF5Library.locked`.
    func guardAndAddress(at path: String) throws(HDF5Error) -> (HDF5ImageGuard, haddr_t)? {
        guard let check = imageGuard else { return nil }
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
