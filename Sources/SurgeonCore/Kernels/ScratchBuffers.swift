import Synchronization

/// Reusable 64-byte-aligned buffers for the short-lived memory of a oneDNN call (a kernel in the
/// primitive's layout, its scratchpad): taking one from the pool instead of the allocator saves
/// most of a small convolution's fixed cost (measured: malloc and free were a quarter of a
/// batch-1 MobileNetV2 inference). Buffers are kept by size, at most `maximumBytes` in all.
final class ScratchBuffers: Sendable {
    static let shared = ScratchBuffers()
    static let maximumBytes = 256 << 20

    private struct Pool {
        var free: [Int: [UnsafeMutableRawPointer]] = [:]
        var bytes = 0
    }
    private let pool = Mutex(UncheckedSendable(Pool()))

    /// A buffer of at least `bytes` bytes, to be given back with `give`.
    func take(_ bytes: Int) -> UnsafeMutableRawPointer {
        let size = Self.rounded(bytes)
        let reused: UnsafeMutableRawPointer? = pool.withLock { box in
            guard let buffer = box.value.free[size]?.popLast() else { return nil }
            box.value.bytes -= size
            return buffer
        }
        return reused ?? UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    }

    /// Returns a buffer `take(bytes)` gave; freed when the pool is full.
    func give(_ buffer: UnsafeMutableRawPointer, _ bytes: Int) {
        let size = Self.rounded(bytes)
        let kept = pool.withLock { box in
            guard box.value.bytes + size <= Self.maximumBytes else { return false }
            box.value.free[size, default: []].append(buffer)
            box.value.bytes += size
            return true
        }
        if !kept { buffer.deallocate() }
    }

    private static func rounded(_ bytes: Int) -> Int { max(64, (bytes + 63) & ~63) }
}
