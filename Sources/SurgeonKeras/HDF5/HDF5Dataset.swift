import CHDF5

/// A dataset of an `HDF5File`: its path, shape and element type, read when it was looked up.
/// It keeps the file alive and opens the dataset afresh to read its values.
public struct HDF5Dataset {
    public let file: HDF5File
    /// The absolute path, e.g. "/layers/conv2d/vars/0".
    public let path: String
    /// The extent; `[]` for a scalar, `[0]` for HDF5's null dataspace (h5py's `Empty`).
    public let shape: [Int]
    /// The number of elements (1 for a scalar).
    public let elementCount: Int
    /// The element type as stored.
    public let elementType: HDF5ElementType

    /// Reads the shape and type of the dataset at the absolute `path`.
    /// Call only inside `HDF5Library.locked`.
    init(file: HDF5File, path: String) throws(HDF5Error) {
        self.file = file
        self.path = path
        (shape, elementCount, elementType) = try file.withObject(at: path, expected: .dataset) {
            dataset throws(HDF5Error) -> ([Int], Int, HDF5ElementType) in
            try Self.refuseOutsideStorage(of: dataset, file: file, path: path)
            let space = H5Dget_space(dataset)
            guard space >= 0 else { throw file.failure("reading the extent of dataset", path: path) }
            defer { H5Sclose(space) }
            guard let extent = HDF5Extent(space: space) else {
                HDF5Library.discardErrors()
                throw .corrupt(
                    source: file.source, path: path, detail: "the dataset's extent is unreadable or too large")
            }
            let type = H5Dget_type(dataset)
            guard type >= 0 else { throw file.failure("reading the element type of dataset", path: path) }
            defer { H5Tclose(type) }
            var kerasDType: String?
            if H5Tget_class(type) == H5T_OPAQUE {
                kerasDType = try? file.readAttribute("dtype", of: dataset, path: path)?.strings?.first
                HDF5Library.discardErrors()
            }
            return (extent.shape, extent.count, HDF5ElementType.of(type, kerasDType: kerasDType))
        }
    }

    /// The file's name for messages.
    public var source: String { file.source }

    /// All values in row-major order, converted to `Float` by HDF5 (float16, float64 and
    /// integers of any width; values beyond `Float`'s range become ±infinity) or, for Keras's
    /// bfloat16, by widening. `.unsupportedElementType` for strings, opaque, compound, ….
    public func readFloats() throws(HDF5Error) -> [Float] {
        guard elementType.convertsToFloat else {
            throw .unsupportedElementType(source: source, path: path, elementType: "\(elementType)", requested: "Float")
        }
        if elementType == .bfloat16 {
            return try read(zero: UInt16(0), memoryType: nil).map {
                Float(bitPattern: UInt32(UInt16(littleEndian: $0)) << 16)
            }
        }
        return try read(zero: Float(0), memoryType: CHDF5_H5T_NATIVE_FLOAT())
    }

    /// All values in row-major order as `Int64`; integer datasets only (HDF5 converts other
    /// widths; unsigned values above `Int64.max` are clamped to it).
    public func readInt64s() throws(HDF5Error) -> [Int64] {
        guard elementType.isInteger else {
            throw .unsupportedElementType(source: source, path: path, elementType: "\(elementType)", requested: "Int64")
        }
        return try read(zero: Int64(0), memoryType: CHDF5_H5T_NATIVE_INT64())
    }

    /// A scalar string attribute of the dataset (Keras marks bfloat16 data with `dtype`); nil when absent.
    public func stringAttribute(_ name: String) throws(HDF5Error) -> String? {
        try HDF5Library.locked { () throws(HDF5Error) -> String? in
            try file.withObject(at: path, expected: .dataset) { dataset throws(HDF5Error) -> String? in
                try file.readAttribute(name, of: dataset, path: path).map { contents throws(HDF5Error) in
                    try contents.singleString(name: name, source: source, path: path)
                }
            }
        }
    }

    // MARK: - Reading

    /// Output larger than this is refused when the file cannot vouch for the data's size
    /// (chunked or never-written datasets), so a damaged header cannot exhaust memory.
    static let uncheckedByteLimit = 1 << 30

    /// Reads every element into `[T]`, converting to `memoryType` (nil: the file's own type,
    /// unconverted, which must be `T`'s size).
    private func read<T: BitwiseCopyable>(zero: T, memoryType: hid_t?) throws(HDF5Error) -> [T] {
        try HDF5Library.locked { () throws(HDF5Error) -> [T] in
            try file.withObject(at: path, expected: .dataset) { dataset throws(HDF5Error) -> [T] in
                let fileType = H5Dget_type(dataset)
                guard fileType >= 0 else { throw file.failure("reading the element type of dataset", path: path) }
                defer { H5Tclose(fileType) }
                if let problem = HDF5ElementType.malformation(of: fileType) {
                    throw .corrupt(source: source, path: path, detail: "its element type is malformed: \(problem)")
                }
                try checkStorage(of: dataset, elementSize: H5Tget_size(fileType), outputSize: MemoryLayout<T>.stride)
                var values = [T](repeating: zero, count: elementCount)
                guard elementCount > 0 else { return values }
                let status = values.withUnsafeMutableBytes {
                    H5Dread(
                        dataset, memoryType ?? fileType, CHDF5_H5S_ALL(), CHDF5_H5S_ALL(), HDF5Library.defaultPlist,
                        $0.baseAddress)
                }
                guard status >= 0 else { throw file.failure("reading dataset", path: path) }
                return values
            }
        }
    }

    /// Checks that the stored bytes match the declared extent before anything is allocated:
    /// a contiguous or compact dataset must store exactly `elementCount` elements of
    /// `elementSize` bytes, within the file; other layouts are bounded by `uncheckedByteLimit`.
    private func checkStorage(of dataset: hid_t, elementSize: Int, outputSize: Int) throws(HDF5Error) {
        let (needed, overflow) = elementCount.multipliedReportingOverflow(by: elementSize)
        let (output, outputOverflow) = elementCount.multipliedReportingOverflow(by: outputSize)
        guard !overflow, !outputOverflow, elementSize > 0 else {
            throw .corrupt(source: source, path: path, detail: "the dataset declares an impossible size")
        }
        let plist = H5Dget_create_plist(dataset)
        guard plist >= 0 else { throw file.failure("reading the layout of dataset", path: path) }
        defer { H5Pclose(plist) }
        let layout = H5Pget_layout(plist)
        try refuseOutsideStorage(plist: plist, layout: layout)
        if let (check, address) = try file.guardAndAddress(at: path) {
            switch check.checkStorage(ofDatasetAt: UInt64(address), byteCount: needed) {
            case let .damaged(detail): throw .corrupt(source: source, path: path, detail: detail)
            case let .outside(what): throw .outsideReference(source: source, path: path, what: what)
            case .valid, .unchecked: break
            }
        }
        let stored = Int(clamping: H5Dget_storage_size(dataset))
        HDF5Library.discardErrors()
        let vouched = (layout == H5D_CONTIGUOUS || layout == H5D_COMPACT) && stored == needed
        if vouched, stored <= file.fileSize() { return }
        if (layout == H5D_CONTIGUOUS || layout == H5D_COMPACT) && stored != 0 {
            throw .corrupt(
                source: source, path: path,
                detail: "the dataset declares shape \(HDF5Extent.tuple(shape)) of \(elementSize)-byte elements "
                    + "(\(needed) bytes) but stores \(stored) bytes in a file of \(file.fileSize()) bytes")
        }
        guard output <= Self.uncheckedByteLimit else {
            throw .corrupt(
                source: source, path: path,
                detail: "the dataset declares shape \(HDF5Extent.tuple(shape)), \(output) bytes once read, "
                    + "more than surgeon reads from a dataset whose stored size it cannot check")
        }
    }

    /// Throws `.outsideReference` when the dataset's bytes live outside the file: external
    /// storage (raw data in files the dataset names, which may be any local file or a FIFO) or
    /// a virtual dataset (data mapped from other datasets, possibly in other files). Checked on
    /// the creation property list before anything is read.
    private func refuseOutsideStorage(plist: hid_t, layout: H5D_layout_t) throws(HDF5Error) {
        try Self.refuseOutsideStorage(plist: plist, layout: layout, source: source, path: path)
    }

    /// `refuseOutsideStorage(plist:layout:)` for the open dataset `dataset`, before its extent
    /// is read (HDF5 may open the source files of a virtual dataset to compute it).
    /// Call only inside `HDF5Library.locked`.
    static func refuseOutsideStorage(of dataset: hid_t, file: HDF5File, path: String) throws(HDF5Error) {
        let plist = H5Dget_create_plist(dataset)
        guard plist >= 0 else { throw file.failure("reading the layout of dataset", path: path) }
        defer { H5Pclose(plist) }
        try refuseOutsideStorage(plist: plist, layout: H5Pget_layout(plist), source: file.source, path: path)
    }

    private static func refuseOutsideStorage(
        plist: hid_t, layout: H5D_layout_t, source: String, path: String
    ) throws(HDF5Error) {
        let externalCount = Int(H5Pget_external_count(plist))
        if externalCount != 0 {
            HDF5Library.discardErrors()
            var names: [String] = []
            for index in 0..<min(max(externalCount, 1), 4) {
                var name = [CChar](repeating: 0, count: 1024)
                var offset: off_t = 0
                var size: hsize_t = 0
                guard H5Pget_external(plist, UInt32(index), name.count, &name, &offset, &size) >= 0 else { break }
                let bytes = name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
                names.append(String(decoding: bytes, as: UTF8.self))
            }
            HDF5Library.discardErrors()
            throw .outsideReference(
                source: source, path: path,
                what: HDF5ImageGuard.externalStorage(count: max(externalCount, 1), names: names))
        }
        if layout == H5D_VIRTUAL {
            var count: Int = 0
            var name = [CChar](repeating: 0, count: 1024)
            let counted = H5Pget_virtual_count(plist, &count) >= 0
            let named = counted && count > 0 && H5Pget_virtual_filename(plist, 0, &name, name.count) >= 0
            HDF5Library.discardErrors()
            let file =
                named ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
            throw .outsideReference(
                source: source, path: path, what: HDF5ImageGuard.virtualDataset(count: count, firstFile: file))
        }
    }
}
