/// How an ONNX sliding window's explicit padding becomes Keras padding (ONNX-FORMAT.md 2.3):
/// `valid`, `same` (the odd pixel at the end, like `SAME_UPPER`), or explicit margins for a
/// ZeroPadding2D before a `valid` window.
enum ONNXWindowPadding: Equatable {
    case valid
    case same
    /// Top, bottom, left, right margins actually used by the window.
    case explicit(top: Int, bottom: Int, left: Int, right: Int)

    /// One spatial axis: input size, kernel, stride, dilation, declared pads.
    struct Axis {
        var input: Int
        var kernel: Int
        var stride: Int
        var dilation: Int
        var begin: Int
        var end: Int

        var effectiveKernel: Int { (kernel - 1) * dilation + 1 }

        /// The ONNX output size; `ceilMode` rounds up, dropping a last window that would start
        /// in the end padding (what onnxruntime does).
        func outputSize(ceilMode: Bool) -> Int {
            let span = input + begin + end - effectiveKernel
            guard span >= 0 else { return 0 }
            var size = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
            if ceilMode, (size - 1) * stride >= input + begin { size -= 1 }
            return size
        }

        /// The end padding the windows actually reach (it may exceed `end` in ceil mode).
        func usedEnd(ceilMode: Bool) -> Int {
            (outputSize(ceilMode: ceilMode) - 1) * stride + effectiveKernel - input - begin
        }

        func isValid(ceilMode: Bool) -> Bool {
            begin == 0 && outputSize(ceilMode: ceilMode) == (input - effectiveKernel) / stride + 1
                && input >= effectiveKernel
        }

        func isSame(ceilMode: Bool) -> Bool {
            let size = outputSize(ceilMode: ceilMode)
            let total = max((size - 1) * stride + effectiveKernel - input, 0)
            return size == (input + stride - 1) / stride && begin == total / 2
        }
    }

    /// The Keras padding for two axes (height, width); `ceilMode` is pooling's.
    init(height: Axis, width: Axis, ceilMode: Bool) {
        if height.isValid(ceilMode: ceilMode), width.isValid(ceilMode: ceilMode) {
            self = .valid
        } else if height.isSame(ceilMode: ceilMode), width.isSame(ceilMode: ceilMode) {
            self = .same
        } else {
            self = .explicit(
                top: height.begin, bottom: max(height.usedEnd(ceilMode: ceilMode), 0), left: width.begin,
                right: max(width.usedEnd(ceilMode: ceilMode), 0))
        }
    }

    /// The declared pads `[top, left, bottom, right]` for an `auto_pad` value, or nil for
    /// `NOTSET`.
    static func autoPads(_ mode: String, height: Axis, width: Axis) -> [Int]? {
        func split(_ axis: Axis, upper: Bool) -> (Int, Int) {
            let size = (axis.input + axis.stride - 1) / axis.stride
            let total = max((size - 1) * axis.stride + axis.effectiveKernel - axis.input, 0)
            return upper ? (total / 2, total - total / 2) : (total - total / 2, total / 2)
        }
        switch mode {
        case "VALID": return [0, 0, 0, 0]
        case "SAME_UPPER", "SAME_LOWER":
            let (t, b) = split(height, upper: mode == "SAME_UPPER")
            let (l, r) = split(width, upper: mode == "SAME_UPPER")
            return [t, l, b, r]
        default: return nil
        }
    }
}
