import SurgeonCore
import Synchronization
import XCTest

/// Subnormal floats are flushed to zero on every thread that computes: ours and OpenBLAS's.
final class SubnormalFlushTests: XCTestCase {
    override func setUp() {
        Compute.setThreads(2)
    }

    /// The smallest normal float is 1.2e-38; 1e-39 is subnormal and reads as 0 once flushed.
    static let subnormal: Float = 1e-39

    func testSubnormalValue_isSubnormal() {
        XCTAssertTrue(Self.subnormal.isSubnormal)
    }

    func testEveryParallelChunk_runsWithSubnormalsFlushed() {
        let flushed = Atomic<Int>(0), chunks = Atomic<Int>(0)
        Compute.parallelChunks(64) { _ in
            chunks.add(1, ordering: .relaxed)
            if Compute.flushesSubnormals { flushed.add(1, ordering: .relaxed) }
        }
        XCTAssertEqual(chunks.load(ordering: .relaxed), 2)
        XCTAssertEqual(flushed.load(ordering: .relaxed), 2)
        XCTAssertTrue(Compute.flushesSubnormals, "the calling thread too")
    }

    /// A GEMM large enough for OpenBLAS to split over its own threads: without flushing on
    /// them, the rows they computed hold the subnormal sums (half the result, with 2 threads).
    func testGemmOnSubnormalInputs_givesZerosOnEveryBLASThread() {
        let n = 256
        let a = [Float](repeating: Self.subnormal, count: n * n), b = [Float](repeating: 1, count: n * n)
        var c = [Float](repeating: -1, count: n * n)
        Gemm.multiply(a, b, into: &c, m: n, n: n, k: n)
        XCTAssertEqual(c.filter { $0 != 0 }.count, 0)
        Gemm.multiply(b, b, into: &c, m: n, n: n, k: n)
        XCTAssertEqual(c.filter { $0 != Float(n) }.count, 0, "normal values are unchanged")
    }
}
