import Synchronization

/// Which implementation runs `Convolution` and `DepthwiseConvolution`.
public enum ConvolutionBackend: String, Sendable, CaseIterable {
    /// oneDNN's kernels, chosen for the CPU at run time; where oneDNN cannot take a convolution,
    /// the reference runs it. The default.
    case onednn
    /// im2col + OpenBLAS SGEMM and surgeon's direct depthwise kernel: the reference that the
    /// tests check every fast path against.
    case reference

    private static let setting = Atomic<Int>(0)

    /// The backend in use, process-wide.
    public static var current: ConvolutionBackend {
        get { setting.load(ordering: .relaxed) == 1 ? .reference : .onednn }
        set { setting.store(newValue == .reference ? 1 : 0, ordering: .relaxed) }
    }

    /// True when oneDNN loaded and made a CPU engine here.
    public static var oneDNNAvailable: Bool { OneDNNConvolution.isAvailable }
}
