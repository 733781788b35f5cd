import SurgeonCore

extension Reference {
    /// Nearest-neighbour upsampling: `output[n, y, x, c] = input[n, y / sh, x / sw, c]`.
    public static func upSampling2D(input: Tensor, size: [Int]) -> Tensor {
        let (n, h, w, c) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let outShape = [n, h * size[0], w * size[1], c]
        var out = Tensor(shape: outShape)
        for b in 0..<n {
            for y in 0..<outShape[1] {
                for x in 0..<outShape[2] {
                    for ci in 0..<c {
                        out.scalars[at(outShape, b, y, x, ci)] =
                            input.scalars[at(input.shape, b, y / size[0], x / size[1], ci)]
                    }
                }
            }
        }
        return out
    }

    /// `input[:, top : H - bottom, left : W - right, :]`.
    public static func cropping2D(input: Tensor, top: Int, bottom: Int, left: Int, right: Int) -> Tensor {
        let (n, h, w, c) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let outShape = [n, h - top - bottom, w - left - right, c]
        var out = Tensor(shape: outShape)
        for b in 0..<n {
            for y in 0..<outShape[1] {
                for x in 0..<outShape[2] {
                    for ci in 0..<c {
                        out.scalars[at(outShape, b, y, x, ci)] =
                            input.scalars[at(input.shape, b, y + top, x + left, ci)]
                    }
                }
            }
        }
        return out
    }
}
