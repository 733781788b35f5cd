import SurgeonCore

/// Keras `Add`: the element-wise sum of two or more inputs of one shape.
///
/// Element-wise merges report 0 MACs: they do no multiply-accumulate work in the sense that
/// convolution and dense layers do (this matches the usual MAC counters).
public struct Add: Layer {
    public static let kerasClassName = "Add"
    public var weights: [Tensor] = []

    public init() {}
    public init(config: LayerConfig) throws {}
    public var config: LayerConfig { LayerConfig() }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        try commonShape(inputShapes, layer: Self.kerasClassName)
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        try checkSameShape(inputs, layer: Self.kerasClassName)
        var y = inputs[0]
        for k in 1..<inputs.count { y.add(inputs[k]) }
        return LayerOutput(y)
    }

    public func backward(_ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext) throws -> LayerGradients {
        try checkSameShape(inputs, layer: Self.kerasClassName)
        try checkGradientShape(outputGradient, inputs[0].shape, layer: Self.kerasClassName)
        return LayerGradients(inputs: Array(repeating: outputGradient, count: inputs.count))
    }
}

/// Keras `Multiply`: the element-wise product of two or more inputs of one shape.
/// 0 MACs, like `Add`.
public struct Multiply: Layer {
    public static let kerasClassName = "Multiply"
    public var weights: [Tensor] = []

    public init() {}
    public init(config: LayerConfig) throws {}
    public var config: LayerConfig { LayerConfig() }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        try commonShape(inputShapes, layer: Self.kerasClassName)
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        try checkSameShape(inputs, layer: Self.kerasClassName)
        return LayerOutput(Self.product(inputs, skipping: nil))
    }

    /// dLoss/dInput_i = dy * product of the other inputs (no division, so zeros are fine).
    public func backward(_ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext) throws -> LayerGradients {
        try checkSameShape(inputs, layer: Self.kerasClassName)
        try checkGradientShape(outputGradient, inputs[0].shape, layer: Self.kerasClassName)
        var grads: [Tensor] = []
        for i in inputs.indices {
            var g = Self.product([outputGradient] + inputs, skipping: i + 1)
            g = try g.reshaped(inputs[i].shape)
            grads.append(g)
        }
        return LayerGradients(inputs: grads)
    }

    /// The element-wise product of `tensors`, leaving out index `skipping`.
    static func product(_ tensors: [Tensor], skipping: Int?) -> Tensor {
        let first = skipping == 0 ? 1 : 0
        var y = tensors[first]
        y.scalars.withUnsafeMutableBufferPointer { out in
            for k in tensors.indices where k != first && k != skipping {
                tensors[k].scalars.withUnsafeBufferPointer { src in
                    for j in 0..<out.count { out[j] *= src[j] }
                }
            }
        }
        return y
    }
}

/// Keras `Concatenate` along the last (channel) axis: `axis` is -1 or the positive index of
/// the last axis counting the batch axis (3 for NHWC images). All other extents must agree.
/// 0 MACs (a copy).
public struct Concatenate: Layer {
    public static let kerasClassName = "Concatenate"
    /// The axis as written in the configuration.
    public let axis: Int
    public var weights: [Tensor] = []

    public init(axis: Int = -1) { self.axis = axis }

    public init(config: LayerConfig) throws {
        let axis = try config.int("axis", default: -1)
        guard axis == -1 || axis > 0 else {
            throw LayerError.unsupported(Concatenate.axisMessage(axis, rank: nil))
        }
        self.init(axis: axis)
    }

    public var config: LayerConfig { LayerConfig(["axis": .number(Double(axis))]) }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        guard inputShapes.count >= 2 else {
            throw LayerError.inputCount(expected: "at least 2", actual: inputShapes.count)
        }
        let first = inputShapes[0]
        guard !first.isEmpty else {
            throw LayerError.inputShape("Concatenate needs inputs with a channel axis; got []")
        }
        guard axis == -1 || axis == first.count else {
            throw LayerError.unsupported(Concatenate.axisMessage(axis, rank: first.count + 1))
        }
        let leading = first.dropLast()
        guard inputShapes.allSatisfy({ $0.count == first.count && $0.dropLast() == leading }) else {
            throw LayerError.inputShape("Concatenate needs inputs that agree on every axis but the last; got "
                                        + inputShapes.map { "\($0)" }.joined(separator: ", "))
        }
        return Array(leading) + [inputShapes.reduce(0) { $0 + $1.last! }]
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let (rows, widths, total) = try layout(inputs)
        var y = Tensor(shape: Array(inputs[0].shape.dropLast()) + [total])
        y.scalars.withUnsafeMutableBufferPointer { yb in
            var offset = 0
            for (k, x) in inputs.enumerated() {
                let ck = widths[k]
                if ck > 0 {
                    x.scalars.withUnsafeBufferPointer { xb in
                        for r in 0..<rows {
                            (yb.baseAddress! + r * total + offset).update(from: xb.baseAddress! + r * ck, count: ck)
                        }
                    }
                }
                offset += ck
            }
        }
        return LayerOutput(y)
    }

    public func backward(_ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext) throws -> LayerGradients {
        let (rows, widths, total) = try layout(inputs)
        try checkGradientShape(outputGradient, Array(inputs[0].shape.dropLast()) + [total], layer: Self.kerasClassName)
        var grads: [Tensor] = []
        var offset = 0
        outputGradient.scalars.withUnsafeBufferPointer { gb in
            for (k, x) in inputs.enumerated() {
                let ck = widths[k]
                var dx = Tensor(shape: x.shape)
                if ck > 0 {
                    dx.scalars.withUnsafeMutableBufferPointer { db in
                        for r in 0..<rows {
                            (db.baseAddress! + r * ck).update(from: gb.baseAddress! + r * total + offset, count: ck)
                        }
                    }
                }
                grads.append(dx)
                offset += ck
            }
        }
        return LayerGradients(inputs: grads)
    }

    /// Rows (all but the last axis, batch included), each input's channel count, and their sum.
    private func layout(_ inputs: [Tensor]) throws -> (rows: Int, widths: [Int], total: Int) {
        _ = try outputShape(for: inputs.map { Array($0.shape.dropFirst()) })
        let batches = inputs.map { $0.shape.first ?? 0 }
        guard batches.allSatisfy({ $0 == batches[0] }) else {
            throw LayerError.inputShape("Concatenate needs inputs of one batch size; got \(batches.map(String.init).joined(separator: ", "))")
        }
        let widths = inputs.map { $0.shape.last! }
        let rows = inputs[0].shape.dropLast().reduce(1, *)
        return (rows, widths, widths.reduce(0, +))
    }

    static func axisMessage(_ axis: Int, rank: Int?) -> String {
        let last = rank.map { "-1 or \($0 - 1)" } ?? "-1"
        return "Concatenate along axis \(axis) is not supported; only the last (channel) axis (\(last))"
    }
}

/// The one shape shared by two or more inputs, or an error naming the shapes.
private func commonShape(_ shapes: [Shape], layer: String) throws -> Shape {
    guard shapes.count >= 2 else { throw LayerError.inputCount(expected: "at least 2", actual: shapes.count) }
    guard shapes.allSatisfy({ $0 == shapes[0] }) else {
        throw LayerError.inputShape("\(layer) needs inputs of one shape; got " + shapes.map { "\($0)" }.joined(separator: ", "))
    }
    return shapes[0]
}

/// Checks a batch: per-sample shapes first (the error a graph user sees), then batch sizes.
private func checkSameShape(_ inputs: [Tensor], layer: String) throws {
    _ = try commonShape(inputs.map { Array($0.shape.dropFirst()) }, layer: layer)
    let batches = inputs.map { $0.shape.first ?? 0 }
    guard batches.allSatisfy({ $0 == batches[0] }) else {
        throw LayerError.inputShape("\(layer) needs inputs of one batch size; got \(batches.map(String.init).joined(separator: ", "))")
    }
}

private func checkGradientShape(_ gradient: Tensor, _ expected: [Int], layer: String) throws {
    guard gradient.shape == expected else {
        throw LayerError.inputShape("\(layer) backward: output gradient of shape \(gradient.shape), expected \(expected)")
    }
}

// MARK: - Surgery

extension Add: SurgeryRule {
    /// All inputs and the output share channel `i`: the branches are pruned together.
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .tied }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

extension Multiply: SurgeryRule {
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .tied }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

extension Concatenate: SurgeryRule {
    /// The output is the inputs' channels end to end, each input at its offset.
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .concatenated }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}
