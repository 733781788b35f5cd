import CHDF5

/// The extent of a dataspace (of a dataset or an attribute).
struct HDF5Extent {
    /// `[]` for a scalar; `[0]` for HDF5's null dataspace (h5py's `Empty`), which holds nothing.
    var shape: [Int]
    var count: Int

    /// Reads the extent of dataspace `space`; nil when HDF5 fails or the extent overflows `Int`.
    /// Call only inside `HDF5Library.locked`.
    init?(space: hid_t) {
        switch H5Sget_simple_extent_type(space) {
        case H5S_SCALAR:
            (shape, count) = ([], 1)
        case H5S_NULL:
            (shape, count) = ([0], 0)
        case H5S_SIMPLE:
            let rank = H5Sget_simple_extent_ndims(space)
            guard rank >= 0 else { return nil }
            var dims = [hsize_t](repeating: 0, count: Int(rank))
            guard H5Sget_simple_extent_dims(space, &dims, nil) == rank else { return nil }
            var count = 1
            for dim in dims {
                guard dim <= UInt64(Int.max) else { return nil }
                let (product, overflow) = count.multipliedReportingOverflow(by: Int(dim))
                guard !overflow else { return nil }
                count = product
            }
            (shape, self.count) = (dims.map { Int($0) }, count)
        default:
            return nil
        }
    }

    /// A shape as NumPy prints it: `()`, `(3,)`, `(2, 3)`.
    static func tuple(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }

    /// A new dataspace for `shape` (`[]` = scalar); the caller closes it; negative on failure.
    /// Call only inside `HDF5Library.locked`.
    static func createSpace(_ shape: [Int]) -> hid_t {
        if shape.isEmpty { return H5Screate(H5S_SCALAR) }
        let dims = shape.map { hsize_t($0) }
        return H5Screate_simple(Int32(dims.count), dims, nil)
    }

    /// The number of elements of `shape` to be written at `path`; `.invalidArgument` when it is
    /// not a valid shape.
    static func validatedCount(_ shape: [Int], source: String, path: String) throws(HDF5Error) -> Int {
        func invalid(_ problem: String) -> HDF5Error {
            .invalidArgument(source: source, path: path, detail: "shape \(tuple(shape)) \(problem)")
        }
        guard shape.count <= 32 else { throw invalid("has more than 32 dimensions") }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw invalid("has a negative extent") }
        var count = 1
        for extent in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw invalid("has too many elements") }
            count = product
        }
        return count
    }
}
