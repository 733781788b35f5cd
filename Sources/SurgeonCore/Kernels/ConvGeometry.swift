/// Keras's padding modes for convolution and pooling.
public enum Padding: String, Sendable, Codable, CaseIterable {
    /// No padding; the window must fit inside the input.
    case valid
    /// Zero padding so that output size = ceil(input / stride); an odd total goes to the
    /// bottom/right, as in TensorFlow.
    case same
}

/// The spatial arithmetic of a 2-D sliding window over an NHWC input: output size and padding.
public struct ConvGeometry: Sendable, Equatable {
    public var inputHeight: Int, inputWidth: Int
    public var kernelHeight: Int, kernelWidth: Int
    public var strideHeight: Int, strideWidth: Int
    public var dilationHeight: Int, dilationWidth: Int
    public var padTop: Int, padLeft: Int
    public var outputHeight: Int, outputWidth: Int

    /// Computes the geometry; throws when the window does not fit (`valid` on a too-small input)
    /// or a size is not positive.
    public init(
        inputHeight: Int, inputWidth: Int, kernel: [Int], strides: [Int],
        dilation: [Int] = [1, 1], padding: Padding
    ) throws(LayerError) {
        // Element by element, without building arrays: this runs on every convolution call.
        guard kernel.count == 2, strides.count == 2, dilation.count == 2, kernel[0] > 0, kernel[1] > 0,
            strides[0] > 0, strides[1] > 0, dilation[0] > 0, dilation[1] > 0
        else {
            throw .unsupported("kernel size, strides and dilation must be two positive integers each")
        }
        if (dilation[0] != 1 || dilation[1] != 1) && (strides[0] != 1 || strides[1] != 1) {
            throw .unsupported("strides > 1 together with dilation_rate > 1 is not supported (Keras refuses it too)")
        }
        self.inputHeight = inputHeight; self.inputWidth = inputWidth
        kernelHeight = kernel[0]; kernelWidth = kernel[1]
        strideHeight = strides[0]; strideWidth = strides[1]
        dilationHeight = dilation[0]; dilationWidth = dilation[1]
        let effH = (kernelHeight - 1) * dilationHeight + 1
        let effW = (kernelWidth - 1) * dilationWidth + 1
        switch padding {
        case .valid:
            outputHeight = inputHeight >= effH ? (inputHeight - effH) / strideHeight + 1 : 0
            outputWidth = inputWidth >= effW ? (inputWidth - effW) / strideWidth + 1 : 0
            padTop = 0; padLeft = 0
        case .same:
            outputHeight = (inputHeight + strideHeight - 1) / strideHeight
            outputWidth = (inputWidth + strideWidth - 1) / strideWidth
            padTop = max((outputHeight - 1) * strideHeight + effH - inputHeight, 0) / 2
            padLeft = max((outputWidth - 1) * strideWidth + effW - inputWidth, 0) / 2
        }
        guard outputHeight > 0, outputWidth > 0 else {
            throw .inputShape(
                "a \(kernelHeight)x\(kernelWidth) window (dilation \(dilation)) does not fit a "
                    + "\(inputHeight)x\(inputWidth) input with padding '\(padding.rawValue)'"
            )
        }
    }

    /// True for a 1x1 window with stride 1: the convolution is a plain matrix product.
    public var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideHeight == 1 && strideWidth == 1 && padTop == 0 && padLeft == 0
    }

    /// True when some window position reads padding (so a constant input channel does not give
    /// a constant output).
    public var touchesPadding: Bool {
        let effH = (kernelHeight - 1) * dilationHeight + 1
        let effW = (kernelWidth - 1) * dilationWidth + 1
        return padTop > 0 || padLeft > 0
            || (outputHeight - 1) * strideHeight + effH - padTop > inputHeight
            || (outputWidth - 1) * strideWidth + effW - padLeft > inputWidth
    }

    /// The input row read by output row `oy` at kernel row `ky` (may be out of range = padding).
    @inline(__always) public func inputRow(_ oy: Int, _ ky: Int) -> Int {
        oy * strideHeight - padTop + ky * dilationHeight
    }
    /// The input column read by output column `ox` at kernel column `kx`.
    @inline(__always) public func inputColumn(_ ox: Int, _ kx: Int) -> Int {
        ox * strideWidth - padLeft + kx * dilationWidth
    }
}
