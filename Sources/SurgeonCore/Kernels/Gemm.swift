import COpenBLAS

/// Single-precision matrix multiply through OpenBLAS: C = alpha * op(A) * op(B) + beta * C,
/// all matrices row-major.
public enum Gemm {
    /// - Parameters: `a` is `m x k` (or `k x m` when `transposeA`), `b` is `k x n` (or `n x k`),
    ///   `c` is `m x n`; leading dimensions are the row lengths as stored.
    @inlinable
    public static func multiply(
        _ a: UnsafePointer<Float>, transposeA: Bool = false,
        _ b: UnsafePointer<Float>, transposeB: Bool = false,
        into c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0,
        lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil
    ) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            if beta == 0 { c.update(repeating: 0, count: m * n) }
            return
        }
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(lda ?? (transposeA ? m : k)),
            b, Int32(ldb ?? (transposeB ? k : n)),
            beta, c, Int32(ldc ?? n))
    }
}
