import CHDF5
import Foundation

/// An HDF5 file held in memory (HDF5's "core" driver, never backed by a file on disk).
///
/// Open the bytes of a `.h5` file with `init(image:source:)`, or start an empty writable file
/// with `init(creatingInMemory:)`; navigate from `root`; `image()` returns the bytes to write or
/// zip. Every call into the C library holds one process-wide lock, because the library is not
/// thread-safe; the type is nevertheless not `Sendable`, so a file stays with one task.
public final class HDF5File {
    /// Names the file in error messages, e.g. `"model.keras: model.weights.h5"`.
    public let source: String
    /// Whether the file was created by surgeon (writable) rather than opened from an image.
    public let isWritable: Bool
    /// The open file's identifier; closed in `deinit`.
    let id: hid_t
    /// The checks over the bytes the file was opened from; nil when it was created in memory or
    /// the image's superblock could not be parsed.
    let imageGuard: HDF5ImageGuard?
    /// Object header addresses whose attributes passed `imageGuard`.
    var checkedObjects: Set<haddr_t> = []

    /// Opens an HDF5 image (the bytes of a `.h5` file) read-only, without touching the disk.
    ///
    /// HDF5 copies the bytes, so `image` may be released afterwards; peak memory is about three
    /// times its size while opening.
    public init(image: Data, source: String) throws(HDF5Error) {
        self.source = source
        isWritable = false
        guard !image.isEmpty else { throw .notHDF5(source: source, reason: "the file is empty") }
        let check = HDF5ImageGuard(image: image)
        imageGuard = check
        do { try check?.checkRootHeader() } catch {
            throw .notHDF5(
                source: source,
                reason: "the root group's object header is damaged: \(error.detail); the file is "
                    + "damaged or cut short")
        }
        id = try HDF5Library.locked { () throws(HDF5Error) -> hid_t in
            let fapl = try Self.coreAccessList(source: source)
            defer { H5Pclose(fapl) }
            let status = image.withUnsafeBytes { bytes in
                // H5Pset_file_image copies the buffer and never writes through the pointer.
                H5Pset_file_image(fapl, UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
            }
            guard status >= 0 else {
                throw .libraryFailure(
                    source: source, path: "/", operation: "loading the file image",
                    reason: HDF5Library.failureReason())
            }
            let file = H5Fopen(Self.uniqueName(), CHDF5_H5F_ACC_RDONLY(), fapl)
            guard file >= 0 else { throw .notHDF5(source: source, reason: HDF5Library.failureReason()) }
            return file
        }
    }

    /// A new, empty, writable file that lives only in memory.
    public init(creatingInMemory source: String) throws(HDF5Error) {
        self.source = source
        isWritable = true
        imageGuard = nil
        id = try HDF5Library.locked { () throws(HDF5Error) -> hid_t in
            let fapl = try Self.coreAccessList(source: source)
            defer { H5Pclose(fapl) }
            let file = H5Fcreate(Self.uniqueName(), CHDF5_H5F_ACC_TRUNC(), HDF5Library.defaultPlist, fapl)
            guard file >= 0 else {
                throw .libraryFailure(
                    source: source, path: "/", operation: "creating the in-memory file",
                    reason: HDF5Library.failureReason())
            }
            return file
        }
    }

    deinit {
        let id = id
        HDF5Library.locked { _ = H5Fclose(id) }
    }

    /// The root group, "/".
    public var root: HDF5Group { HDF5Group(file: self, path: "/") }

    /// The file's bytes (flushed first when writable), ready to be written to disk or zipped.
    public func image() throws(HDF5Error) -> Data {
        try HDF5Library.locked { () throws(HDF5Error) -> Data in
            if isWritable, H5Fflush(id, H5F_SCOPE_GLOBAL) < 0 {
                throw failure("flushing", path: "/")
            }
            let size = H5Fget_file_image(id, nil, 0)
            guard size >= 0 else { throw failure("getting the image of", path: "/") }
            var data = Data(count: size)
            let copied = data.withUnsafeMutableBytes { H5Fget_file_image(id, $0.baseAddress, size) }
            guard copied == size else { throw failure("copying the image of", path: "/") }
            return data
        }
    }

    /// How many HDF5 objects of this file are open, the file itself included (1 when
    /// nothing leaked). For tests.
    var openObjectCount: Int {
        HDF5Library.locked { Int(H5Fget_obj_count(id, CHDF5_H5F_OBJ_ALL())) }
    }

    /// A `.libraryFailure` for this file with HDF5's reason. Call only inside `locked`.
    func failure(_ operation: String, path: String) -> HDF5Error {
        .libraryFailure(source: source, path: path, operation: operation, reason: HDF5Library.failureReason())
    }

    // MARK: - Opening

    /// A file-access property list for the core driver without a backing store.
    private static func coreAccessList(source: String) throws(HDF5Error) -> hid_t {
        let fapl = H5Pcreate(CHDF5_H5P_FILE_ACCESS())
        guard fapl >= 0 else {
            throw .libraryFailure(
                source: source, path: "/", operation: "creating a file-access list for",
                reason: HDF5Library.failureReason())
        }
        guard H5Pset_fapl_core(fapl, 1 << 16, false) >= 0 else {
            let reason = HDF5Library.failureReason()
            H5Pclose(fapl)
            throw .libraryFailure(
                source: source, path: "/", operation: "selecting the in-memory driver for", reason: reason)
        }
        return fapl
    }

    nonisolated(unsafe) private static var opened = 0

    /// A name for the next in-memory file. HDF5 shares one open file among opens of the same
    /// name, so each name is new; and the core driver refuses an image whose name exists on
    /// disk, so the names lie below /dev/null, where nothing can exist. Call only inside `locked`.
    private static func uniqueName() -> String {
        opened += 1
        return "/dev/null/surgeon-hdf5-\(getpid())-\(opened).h5"
    }
}
