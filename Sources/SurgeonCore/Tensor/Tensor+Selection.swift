/// Keeping a subset of entries along an axis: how surgery slices weights.
extension Tensor {
    /// The entries at `indices` (in that order) along `axis`; other axes are unchanged.
    public func selecting(_ indices: [Int], alongAxis axis: Int) -> Tensor {
        precondition(axis >= 0 && axis < rank, "axis \(axis) of a rank-\(rank) tensor")
        let outer = shape[..<axis].reduce(1, *), extent = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        var newShape = shape
        newShape[axis] = indices.count
        return Tensor(shape: newShape) { out in
            scalars.withUnsafeBufferPointer { src in
                var dst = out.baseAddress!
                for o in 0..<outer {
                    let base = src.baseAddress! + o * extent * inner
                    for i in indices {
                        if inner == 1 {
                            dst.pointee = base[i]
                        } else {
                            dst.update(from: base + i * inner, count: inner)
                        }
                        dst += inner
                    }
                }
            }
        }
    }

    /// For a tensor `[..., r, c]`: keeps `rows` of axis `r` and `columns` of axis `c` in one pass
    /// (a Conv2D kernel `[kh, kw, in, out]` or a Dense kernel `[in, out]`).
    public func selecting(rows: [Int], columns: [Int]) -> Tensor {
        precondition(rank >= 2)
        let r = shape[rank - 2], c = shape[rank - 1]
        let outer = count / max(r * c, 1)
        var newShape = shape
        newShape[rank - 2] = rows.count
        newShape[rank - 1] = columns.count
        return Tensor(shape: newShape) { out in
            scalars.withUnsafeBufferPointer { src in
                columns.withUnsafeBufferPointer { cols in
                    var dst = out.baseAddress!
                    let allColumns = columns.count == c
                    for o in 0..<outer {
                        for row in rows {
                            let line = src.baseAddress! + (o * r + row) * c
                            if allColumns {
                                dst.update(from: line, count: c)
                            } else {
                                for (k, col) in cols.enumerated() { dst[k] = line[col] }
                            }
                            dst += cols.count
                        }
                    }
                }
            }
        }
    }
}
