import CDNNL
import Synchronization

/// Convolution kernels already reordered into the layouts oneDNN's primitives read, kept
/// between calls for a graph that only predicts (`InferenceForm` gives its graph one): at
/// batch 1 reordering every kernel on every call cost as much as the convolutions.
///
/// An entry holds the kernel tensor it was made from and is found by the address of that
/// tensor's buffer. Holding it is what makes the address a safe key: while the entry lives the
/// buffer is shared, so any write to the kernel through a `Tensor` copies it first (copy on
/// write) and the changed kernel, in a new buffer, gets an entry of its own. A cache therefore
/// never returns a stale layout, whatever is done to the graph; it only costs memory, at most
/// `maximumBytes` (then it starts over), plus the one entry each oneDNN binding keeps from its
/// last call (the same reasoning makes that one safe to reuse without asking the cache).
public final class KernelLayoutCache: Sendable {
    /// The most bytes of reordered kernels a cache keeps.
    public static let maximumBytes = 1 << 30

    private struct Entries {
        var byAddress: [UInt: [Entry]] = [:]
        var bytes = 0
    }
    private let entries = Mutex(UncheckedSendable(Entries()))

    public init() {}

    /// One kernel in one layout.
    final class Entry: @unchecked Sendable {
        let kernel: Tensor
        let layout: dnnl_memory_desc_t
        let buffer: UnsafeMutableRawPointer
        let bytes: Int

        init(kernel: Tensor, layout: dnnl_memory_desc_t, bytes: Int) {
            self.kernel = kernel
            self.layout = layout
            self.bytes = bytes
            buffer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
        }

        deinit { buffer.deallocate() }

        /// True when `kernel` is the tensor this entry was made from (the same buffer, which the
        /// entry keeps from being freed or written in place).
        func isMade(from kernel: Tensor) -> Bool {
            KernelLayoutCache.key(of: kernel) == KernelLayoutCache.key(of: self.kernel)
        }

        func matches(_ layout: dnnl_memory_desc_t) -> Bool {
            var a = self.layout, b = layout
            return dnnl_memory_desc_equal(&a, &b) != 0
        }
    }

    /// The address of `kernel`'s buffer, by which its entries are found.
    static func key(of kernel: Tensor) -> UInt {
        kernel.scalars.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
    }

    /// The number of kernels (in a layout each) held.
    public var count: Int { entries.withLock { $0.value.byAddress.values.reduce(0) { $0 + $1.count } } }

    /// The entry of `kernel` in `layout`; on a miss a new one whose buffer `fill` writes. The
    /// caller keeps the entry until it has finished reading the buffer.
    func entry(
        for kernel: Tensor, layout: dnnl_memory_desc_t,
        fill: (UnsafeMutableRawPointer) throws(OneDNNConvolution.Failure) -> Void
    ) throws(OneDNNConvolution.Failure) -> Entry {
        let address = Self.key(of: kernel)
        if let found = entries.withLock({ $0.value.byAddress[address]?.first { $0.matches(layout) } }) {
            return found
        }
        var descriptor = layout
        let entry = Entry(kernel: kernel, layout: layout, bytes: dnnl_memory_desc_get_size(&descriptor))
        try fill(entry.buffer)
        entries.withLock { box in
            if box.value.bytes + entry.bytes > Self.maximumBytes { box.value = Entries() }
            box.value.byAddress[address, default: []].append(entry)
            box.value.bytes += entry.bytes
        }
        return entry
    }
}
