/// Per-channel reductions and affine maps over `[rows, channels]` data (NHWC flattened), the
/// memory-bound kernels of BatchNormalization and of biases.
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
        let shiftValues = shift ?? [Float](repeating: 0, count: c)
        return shiftValues.withUnsafeBufferPointer { sb in
            let ap = UncheckedSendable(a), bp = UncheckedSendable(b), sp = UncheckedSendable(sb.baseAddress!)
            return reduce(rows: rows, channels: c) { block, s, q in
                let shift = sp.value
                for r in block {
                    let x = ap.value + r * c
                    if let b = bp.value {
                        let y = b + r * c
                        for j in 0..<c { let v = x[j] - shift[j]; s[j] += v; q[j] += v * y[j] }
                    } else {
                        for j in 0..<c { let v = x[j] - shift[j]; s[j] += v; q[j] += v * v }
                    }
                }
            }
        }
    }

    /// Per-channel `sum(dy)` and `sum(dy * (x - mean))`: what BatchNormalization's backward
    /// pass needs, in one pass over `dy` and its input `x`.
    public static func gradientSums(
        _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mean: [Float], rows: Int, channels c: Int
    ) -> (sum: [Double], productSum: [Double]) {
        mean.withUnsafeBufferPointer { mb in
            let gp = UncheckedSendable(dy), xp = UncheckedSendable(x), mp = UncheckedSendable(mb.baseAddress!)
            return reduce(rows: rows, channels: c) { block, s, q in
                let mean = mp.value
                for r in block {
                    let g = gp.value + r * c, x = xp.value + r * c
                    for j in 0..<c { let v = g[j]; s[j] += v; q[j] += v * (x[j] - mean[j]) }
                }
            }
        }
    }

    /// Per-channel `sum(a)` (a bias gradient), split and accumulated as `sums` does.
    public static func columnSums(_ a: UnsafePointer<Float>, rows: Int, channels c: Int) -> [Double] {
        let ap = UncheckedSendable(a)
        return reduce(rows: rows, channels: c) { block, s, _ in
            for r in block {
                let x = ap.value + r * c
                for j in 0..<c { s[j] += x[j] }
            }
        }.sum
    }

    /// `out[r, c] += v[c]` for every row, rows split over threads.
    public static func addToRows(
        _ v: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, rows: Int, channels c: Int
    ) {
        let vp = UncheckedSendable(v), op = UncheckedSendable(out)
        Compute.parallelChunks(rows, minimumChunk: max(1, ElementwiseKernels.parallelGrain / max(c, 1))) { range in
            let v = vp.value
            for r in range {
                let o = op.value + r * c
                for j in 0..<c { o[j] += v[j] }
            }
        }
    }

    /// Two per-channel sums over rows: `addRows(rows, s, q)` adds a block of at most `block`
    /// rows into the Float accumulators `s` and `q`, which are emptied into Double after each.
    private static func reduce(
        rows: Int, channels c: Int,
        _ addRows: (Range<Int>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) -> (sum: [Double], productSum: [Double]) {
        let chunks = Compute.chunkRanges(rows, minimumChunk: 256)
        var partial = [Double](repeating: 0, count: max(chunks.count, 1) * 2 * c)
        partial.withUnsafeMutableBufferPointer { pb in
            let out = UncheckedSendable(pb.baseAddress!), box = UncheckedSendable(chunks)
            withoutActuallyEscaping(addRows) { addRows in
                let addRows = UncheckedSendable(addRows)
                Compute.parallelChunks(chunks.count) { range in
                    let s = UnsafeMutablePointer<Float>.allocate(capacity: max(c, 1))
                    let q = UnsafeMutablePointer<Float>.allocate(capacity: max(c, 1))
                    defer { s.deallocate(); q.deallocate() }
                    for chunk in range {
                        let total = out.value + chunk * 2 * c
                        var start = box.value[chunk].lowerBound
                        let end = box.value[chunk].upperBound
                        while start < end {
                            let stop = min(start + block, end)
                            s.update(repeating: 0, count: c)
                            q.update(repeating: 0, count: c)
                            addRows.value(start..<stop, s, q)
                            for j in 0..<c { total[j] += Double(s[j]); total[c + j] += Double(q[j]) }
                            start = stop
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

    /// `out[r, c] = x[r, c] * scale[c] + shift[c]`, optionally `+ (z[r, c] - zShift[c]) * zScale[c]`.
    public static func affine(
        _ x: UnsafePointer<Float>, scale: [Float], shift: [Float], plus z: UnsafePointer<Float>? = nil,
        zScale: [Float]? = nil, zShift: [Float]? = nil,
        into out: UnsafeMutablePointer<Float>, rows: Int, channels c: Int
    ) {
        let zs = zScale ?? [Float](repeating: 0, count: c), zc = zShift ?? [Float](repeating: 0, count: c)
        scale.withUnsafeBufferPointer { sb in
            shift.withUnsafeBufferPointer { hb in
                zs.withUnsafeBufferPointer { zb in
                    zc.withUnsafeBufferPointer { cb in
                        let xp = UncheckedSendable(x), op = UncheckedSendable(out), zp = UncheckedSendable(z)
                        let s = UncheckedSendable(sb.baseAddress!), h = UncheckedSendable(hb.baseAddress!)
                        let zsp = UncheckedSendable(zb.baseAddress!), zcp = UncheckedSendable(cb.baseAddress!)
                        Compute.parallelChunks(rows, minimumChunk: 256) { range in
                            let s = s.value, h = h.value, zsp = zsp.value, zcp = zcp.value
                            for r in range {
                                let xr = xp.value + r * c, o = op.value + r * c
                                if let z = zp.value {
                                    let zr = z + r * c
                                    for j in 0..<c { o[j] = xr[j] * s[j] + h[j] + (zr[j] - zcp[j]) * zsp[j] }
                                } else {
                                    for j in 0..<c { o[j] = xr[j] * s[j] + h[j] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
