/// What a convolution adds to its result in the pass that writes it, for inference: a
/// per-channel bias, then a rectifier `min(max(z, 0), cap)` (ReLU: cap = infinity; ReLU6: 6).
/// oneDNN applies both as it writes the output; the reference path adds them after.
public struct ConvolutionEpilogue: Sendable, Equatable {
    /// One value per output channel, or nil.
    public var bias: Tensor?
    /// The rectifier's cap, or nil for none.
    public var rectifierCap: Float?

    public init(bias: Tensor? = nil, rectifierCap: Float? = nil) {
        self.bias = bias
        self.rectifierCap = rectifierCap
    }

    /// Adds the bias and rectifies `z` in place.
    public func apply(to z: inout Tensor) {
        if let bias { z.addChannelBias(bias) }
        guard let cap = rectifierCap else { return }
        let count = z.count
        z.scalars.withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress else { return }
            ElementwiseKernels.clampedLinear(base, into: base, count: count, low: 0, high: cap, slope: 0)
        }
    }
}
