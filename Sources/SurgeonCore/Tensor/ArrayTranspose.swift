/// An N-dimensional transpose of a row-major array: the NCHW ↔ NHWC conversions of weights and
/// data at the border between a file and surgeon's NHWC graph (`DataLayout`, the ONNX reader
/// and writer).
public enum ArrayTranspose {
    /// `values` of shape `dims` with its axes reordered: output axis `k` is input axis `perm[k]`
    /// (NumPy's `transpose(perm)`).
    public static func transpose<T>(_ values: [T], dims: [Int], perm: [Int]) -> [T] {
        precondition(perm.count == dims.count && Set(perm) == Set(dims.indices) && values.count == product(dims))
        let rank = dims.count
        guard rank > 1, let first = values.first else { return values }
        var inputStrides = [Int](repeating: 1, count: rank)
        for k in stride(from: rank - 2, through: 0, by: -1) { inputStrides[k] = inputStrides[k + 1] * dims[k + 1] }
        let outDims = perm.map { dims[$0] }
        let strides = perm.map { inputStrides[$0] }
        var result = [T](repeating: first, count: values.count)
        var index = [Int](repeating: 0, count: rank)
        var source = 0
        for target in 0..<values.count {
            result[target] = values[source]
            var k = rank - 1
            while k >= 0 {
                index[k] += 1
                source += strides[k]
                if index[k] < outDims[k] { break }
                source -= strides[k] * outDims[k]
                index[k] = 0
                k -= 1
            }
        }
        return result
    }

    static func product(_ dims: [Int]) -> Int { dims.reduce(1, *) }
}
