/// A convolution's inference forward pass (then its epilogue) prepared for one input shape
/// on the oneDNN backend: `Convolution.prepared` and `DepthwiseConvolution.prepared` make it,
/// a layer's `preparedForward` returns it. Computes what `Convolution.forward` (or
/// `DepthwiseConvolution.forward`) computes with the same arguments, bit for bit; should oneDNN
/// fail during a call, that call takes the unprepared path.
public final class PreparedConvolution: PreparedForward {
    private let prepared: OneDNNConvolution.Prepared
    private let unprepared: (Tensor) -> Tensor

    init(_ prepared: OneDNNConvolution.Prepared, unprepared: @escaping (Tensor) -> Tensor) {
        self.prepared = prepared
        self.unprepared = unprepared
    }

    /// The input shape (batch axis first) the pass was prepared for.
    public var inputShape: [Int] { prepared.inputShape }

    /// The output shape (batch axis first).
    public var outputShape: [Int] { prepared.outputShape }

    public func run(_ inputs: [Tensor]) throws -> Tensor {
        guard inputs.count == 1 else { throw LayerError.inputCount(expected: "1", actual: inputs.count) }
        return try run(inputs[0])
    }

    public func run(_ x: Tensor) throws -> Tensor {
        guard x.shape == prepared.inputShape else {
            throw LayerError.inputShape("a convolution prepared for input \(prepared.inputShape) got input \(x.shape)")
        }
        return prepared.run(x) ?? unprepared(x)
    }
}

extension Convolution {
    /// `forward` with these arguments prepared for inputs of `inputShape` (batch axis first);
    /// nil when the backend is not oneDNN or oneDNN cannot run it (call `forward` then).
    public static func prepared(
        inputShape: [Int], kernel: Tensor, geometry g: ConvGeometry, groups: Int = 1,
        epilogue: ConvolutionEpilogue? = nil, kernelLayouts: KernelLayoutCache? = nil
    ) -> PreparedConvolution? {
        guard ConvolutionBackend.current == .onednn,
            let prepared = OneDNNConvolution.Prepared(
                inputShape: inputShape, kernel: kernel, geometry: g, groups: groups, depthwise: false,
                epilogue: epilogue, kernelLayouts: kernelLayouts)
        else { return nil }
        return PreparedConvolution(prepared) { x in
            forward(
                input: x, kernel: kernel, geometry: g, groups: groups, epilogue: epilogue, kernelLayouts: kernelLayouts)
        }
    }
}

extension DepthwiseConvolution {
    /// `forward` with these arguments prepared for inputs of `inputShape` (batch axis first);
    /// nil when the backend is not oneDNN or oneDNN cannot run it (call `forward` then).
    public static func prepared(
        inputShape: [Int], kernel: Tensor, geometry g: ConvGeometry, epilogue: ConvolutionEpilogue? = nil,
        kernelLayouts: KernelLayoutCache? = nil
    ) -> PreparedConvolution? {
        guard ConvolutionBackend.current == .onednn,
            let prepared = OneDNNConvolution.Prepared(
                inputShape: inputShape, kernel: kernel, geometry: g, groups: 1, depthwise: true, epilogue: epilogue,
                kernelLayouts: kernelLayouts)
        else { return nil }
        return PreparedConvolution(prepared) { x in
            forward(input: x, kernel: kernel, geometry: g, epilogue: epilogue, kernelLayouts: kernelLayouts)
        }
    }
}
