import CDNNL
import CFloatEnvironment
import CMalloc
import COpenBLAS
import Synchronization

/// Process-wide compute settings: how many threads kernels, oneDNN and OpenBLAS use, and
/// subnormal floats flushed to zero on every thread that computes (as TensorFlow does on x86).
///
/// Parallel regions run on OpenMP's threads (libgomp, which oneDNN runs on), so that surgeon's
/// own kernels and oneDNN's convolutions share one team instead of two pools taking turns on
/// the same cores.
public enum Compute {
    private static let threadSetting = Atomic<Int>(0)

    /// The number of threads for kernels; defaults to all cores.
    public static var threads: Int {
        let t = threadSetting.load(ordering: .relaxed)
        return t > 0 ? t : defaultThreads
    }

    /// The number of cores of this machine.
    public static var defaultThreads: Int { max(1, System.coreCount) }

    /// Sets the thread count for our kernels and for OpenBLAS. Results are reproducible for a
    /// fixed thread count: work is split into the same chunks and reduced in the same order.
    public static func setThreads(_ count: Int) {
        keepFreedMemory()
        flushSubnormals()
        let n = max(1, count)
        threadSetting.store(n, ordering: .relaxed)
        openblas_set_num_threads(Int32(n))
        // OpenBLAS's workers keep the floating-point control bits they were started with, and
        // setting the count starts them, after which they spin for ~0.1 s waiting for work on
        // the other hardware thread of the core (measured: a batch-1 inference 40% slower
        // meanwhile). Stop them: the first GEMM that wants them starts them again from a thread
        // that flushes subnormals, whose bits they then inherit.
        surgeon_restart_blas_threads()
        omp_set_num_threads(Int32(n))
    }

    /// Asks glibc's malloc to keep large freed blocks for reuse instead of returning them to
    /// the kernel: training allocates the same activation-sized buffers every step, and fresh
    /// pages cost a page fault each (measured: ~17% of a MobileNetV2 training step).
    public static func keepFreedMemory() {
        #if os(Linux)
            _ = allocatorConfigured
        #endif
    }

    #if os(Linux)
        private static let allocatorConfigured: Bool = {
            mallopt(M_MMAP_THRESHOLD, 512 << 20)
            mallopt(M_TRIM_THRESHOLD, 1 << 30)
            return true
        }()
    #endif

    /// Flushes subnormal floats to zero on the calling thread (x86 FTZ and DAZ, arm64 FZ).
    ///
    /// Sparse training drives whole channels towards zero, and their weights, BatchNorm
    /// statistics and gradients then pass through subnormal values, where one operand makes a
    /// vector multiply ~100 times slower: a MobileNetV2 after growing-lasso evaluated 5-6x
    /// slower, an SGEMM on subnormal inputs 140x. Values below 1.2e-38 count as 0, far under
    /// anything a float32 network's result depends on. Every parallel region of `Compute` sets it
    /// on its threads; `setThreads` also sets it on the caller and OpenBLAS's pool.
    public static func flushSubnormals() { surgeon_flush_subnormals() }

    /// True when the calling thread flushes subnormals to zero.
    public static var flushesSubnormals: Bool { surgeon_flushes_subnormals() != 0 }

    /// Runs `body` over `0..<count` split into at most `threads` contiguous chunks, in parallel.
    /// The chunking depends only on `count` and the thread count, never on timing.
    public static func parallelChunks(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = chunkRanges(count, minimumChunk: minimumChunk)
        concurrently(chunks.count) { body(chunks[$0]) }
    }

    /// Splits `count` samples into one slice per thread and runs `body` on each in parallel,
    /// with OpenBLAS held to one thread meanwhile (the slices are the parallelism). With a
    /// single slice (one sample, or one thread), OpenBLAS keeps its threads.
    public static func batchParallel(_ count: Int, _ body: (Range<Int>) -> Void) {
        let slices = chunkRanges(count)
        batchParallel(slices: slices) { body(slices[$0]) }
    }

    /// `batchParallel` over precomputed slices (from `chunkRanges`); `body` gets the slice index.
    public static func batchParallel(slices: [Range<Int>], _ body: (Int) -> Void) {
        guard slices.count > 1 else { return concurrently(slices.count, body) }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(threads)) }
        concurrently(slices.count, body)
    }

    /// Runs `body(0..<n)`, in parallel on `n` OpenMP threads when `n > 1`, inline otherwise.
    private static func concurrently(_ n: Int, _ body: (Int) -> Void) {
        flushSubnormals()
        guard n > 1 else {
            if n == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var job = body
            withUnsafeMutablePointer(to: &job) { context in
                surgeon_omp_run(
                    n,
                    { context, index in
                        surgeon_flush_subnormals()
                        context?.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
                    }, context)
            }
        }
    }

    /// The chunks `parallelChunks` would use, for reductions that keep per-chunk partial sums.
    public static func chunkRanges(_ count: Int, minimumChunk: Int = 1) -> [Range<Int>] {
        guard count > 0 else { return [] }
        let parts = max(1, min(threads, count / max(minimumChunk, 1)))
        var ranges: [Range<Int>] = []
        for k in 0..<parts {
            let lo = count * k / parts, hi = count * (k + 1) / parts
            if hi > lo { ranges.append(lo..<hi) }
        }
        return ranges
    }
}

/// Wraps a value the caller promises is used safely across threads (disjoint writes).
struct UncheckedSendable<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

#if canImport(Glibc)
    import Glibc
    enum System {
        static var coreCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
    }
#else
    import Foundation
    enum System {
        static var coreCount: Int { ProcessInfo.processInfo.activeProcessorCount }
    }
#endif
