/// Per-channel reductions and affine maps over `[rows, channels]` data (NHWC flattened), the
/// memory-bound kernels of BatchNormalization.
///
/// Rows are split into chunks run in parallel; within a chunk, blocks of 64 rows accumulate in
/// Float (vectorised over channels) and blocks add into Double. Chunk sums are added in chunk
/// order, so a fixed thread count gives bit-identical results.
public enum ChannelKernels {
    static let block = 64

    /// Per-channel `sum(a)` and `sum(a * b)` (with `b` = nil: `sum(a * a)`), after subtracting
    /// `shift[c]` from `a` when given.
    public static func sums(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, shift: [Float]? = nil, rows: Int, channels c: Int
    ) -> (sum: [Double], productSum: [Double]) {
        let chunks = Compute.chunkRanges(rows, minimumChunk: 256)
        var partial = [Double](repeating: 0, count: max(chunks.count, 1) * 2 * c)
        let shiftValues = shift ?? [Float](repeating: 0, count: c)
        partial.withUnsafeMutableBufferPointer { pb in
            shiftValues.withUnsafeBufferPointer { sb in
                let out = UncheckedSendable(pb.baseAddress!), sp = UncheckedSendable(sb.baseAddress!)
                let ap = UncheckedSendable(a), bp = UncheckedSendable(b)
                let box = UncheckedSendable(chunks)
                Compute.parallelChunks(chunks.count) { range in
                    var s = [Float](repeating: 0, count: c), q = [Float](repeating: 0, count: c)
                    s.withUnsafeMutableBufferPointer { s in
                        q.withUnsafeMutableBufferPointer { q in
                            for chunk in range {
                                let total = out.value + chunk * 2 * c
                                var row = box.value[chunk].lowerBound
                                let end = box.value[chunk].upperBound
                                while row < end {
                                    let stop = min(row + block, end)
                                    for j in 0..<c { s[j] = 0; q[j] = 0 }
                                    for r in row..<stop {
                                        let x = ap.value + r * c
                                        if let b = bp.value {
                                            let y = b + r * c
                                            for j in 0..<c { let v = x[j] - sp.value[j]; s[j] += v; q[j] += v * y[j] }
                                        } else {
                                            for j in 0..<c { let v = x[j] - sp.value[j]; s[j] += v; q[j] += v * v }
                                        }
                                    }
                                    for j in 0..<c { total[j] += Double(s[j]); total[c + j] += Double(q[j]) }
                                    row = stop
                                }
                            }
                        }
                    }
                }
            }
        }
        var sum = [Double](repeating: 0, count: c), product = [Double](repeating: 0, count: c)
        for k in 0..<chunks.count {
            for j in 0..<c { sum[j] += partial[k * 2 * c + j]; product[j] += partial[k * 2 * c + c + j] }
        }
        return (sum, product)
    }

    /// `out[r, c] = x[r, c] * scale[c] + shift[c]`, optionally `+ z[r, c] * zScale[c]`.
    public static func affine(
        _ x: UnsafePointer<Float>, scale: [Float], shift: [Float], plus z: UnsafePointer<Float>? = nil,
        zScale: [Float]? = nil,
        into out: UnsafeMutablePointer<Float>, rows: Int, channels c: Int
    ) {
        let zs = zScale ?? [Float](repeating: 0, count: c)
        scale.withUnsafeBufferPointer { sb in
            shift.withUnsafeBufferPointer { hb in
                zs.withUnsafeBufferPointer { zb in
                    let xp = UncheckedSendable(x), op = UncheckedSendable(out), zp = UncheckedSendable(z)
                    let s = UncheckedSendable(sb.baseAddress!), h = UncheckedSendable(hb.baseAddress!)
                    let zsp = UncheckedSendable(zb.baseAddress!)
                    Compute.parallelChunks(rows, minimumChunk: 256) { range in
                        for r in range {
                            let xr = xp.value + r * c, o = op.value + r * c
                            if let z = zp.value {
                                let zr = z + r * c
                                for j in 0..<c { o[j] = xr[j] * s.value[j] + h.value[j] + zr[j] * zsp.value[j] }
                            } else {
                                for j in 0..<c { o[j] = xr[j] * s.value[j] + h.value[j] }
                            }
                        }
                    }
                }
            }
        }
    }
}
