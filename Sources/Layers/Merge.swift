import SurgeonCore

/// Keras `Add`: the element-wise sum of two or more inputs whose shapes broadcast
/// (`MergeLayout`).
///
/// Element-wise merges report 0 MACs: they do no multiply-accumulate work in the sense that
/// convolution and dense layers do (this matches the usual MAC counters).
public struct Add: ElementwiseMerge {
    public static let kerasClassName = "Add"
    public var weights: [Tensor] = []

    public init() {}

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        if inputs.count >= 2, inputs.dropFirst().allSatisfy({ $0.shape == inputs[0].shape }) {
            var y = inputs[0].adding(inputs[1])
            for k in 2..<inputs.count { y.add(inputs[k]) }
            return LayerOutput(y)
        }
        let layout = try MergeLayout(inputs, layer: Self.kerasClassName)
        var y = layout.expand(0, inputs[0])
        for k in 1..<inputs.count { y.add(layout.expand(k, inputs[k])) }
        return LayerOutput(y)
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let layout = try MergeLayout(inputs, layer: Self.kerasClassName)
        try checkGradientShape(outputGradient, layout.shape, layer: Self.kerasClassName)
        return LayerGradients(inputs: inputs.indices.map { layout.reduce($0, outputGradient, to: inputs[$0].shape) })
    }
}

/// Keras `Subtract`: `inputs[0] - inputs[1]`, exactly two inputs whose shapes broadcast.
/// 0 MACs, like `Add`.
public struct Subtract: ElementwiseMerge {
    public static let kerasClassName = "Subtract"
    public var weights: [Tensor] = []

    public init() {}

    public func outputShape(for inputShapes: [Shape]) throws -> Shape {
        guard inputShapes.count == 2 else {
            throw LayerError.inputCount(expected: "exactly 2", actual: inputShapes.count)
        }
        return try MergeLayout.outputShape(inputShapes, layer: Self.kerasClassName)
    }

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let layout = try Self.layout(inputs)
        var y = layout.expand(1, inputs[1])
        y.scale(by: -1)
        y.add(layout.expand(0, inputs[0]))
        return LayerOutput(y)
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let layout = try Self.layout(inputs)
        try checkGradientShape(outputGradient, layout.shape, layer: Self.kerasClassName)
        var negated = outputGradient
        negated.scale(by: -1)
        return LayerGradients(inputs: [
            layout.reduce(0, outputGradient, to: inputs[0].shape),
            layout.reduce(1, negated, to: inputs[1].shape),
        ])
    }

    private static func layout(_ inputs: [Tensor]) throws -> MergeLayout {
        guard inputs.count == 2 else { throw LayerError.inputCount(expected: "exactly 2", actual: inputs.count) }
        return try MergeLayout(inputs, layer: kerasClassName)
    }
}

/// Keras `Average`: the element-wise mean of two or more inputs whose shapes broadcast.
/// 0 MACs, like `Add`.
public struct Average: ElementwiseMerge {
    public static let kerasClassName = "Average"
    public var weights: [Tensor] = []

    public init() {}

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let layout = try MergeLayout(inputs, layer: Self.kerasClassName)
        var y = layout.expand(0, inputs[0])
        for k in 1..<inputs.count { y.add(layout.expand(k, inputs[k])) }
        y.scale(by: 1 / Float(inputs.count))
        return LayerOutput(y)
    }

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let layout = try MergeLayout(inputs, layer: Self.kerasClassName)
        try checkGradientShape(outputGradient, layout.shape, layer: Self.kerasClassName)
        var share = outputGradient
        share.scale(by: 1 / Float(inputs.count))
        return LayerGradients(inputs: inputs.indices.map { layout.reduce($0, share, to: inputs[$0].shape) })
    }
}

/// Keras `Maximum`: the element-wise maximum of two or more inputs whose shapes broadcast.
///
/// On a tie the first input holding the maximum wins: it alone gets the gradient (TensorFlow's
/// rule, as Keras computes `maximum(maximum(a, b), c)`). 0 MACs, like `Add`.
public struct Maximum: ElementwiseMerge {
    public static let kerasClassName = "Maximum"
    public var weights: [Tensor] = []

    public init() {}

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let layout = try MergeLayout(inputs, layer: Self.kerasClassName)
        return LayerOutput(Self.maximum(inputs.indices.map { layout.expand($0, inputs[$0]) }).value)
    }

    /// dLoss/dInput_k = dy where input k is the (first) maximum, else 0.
    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let layout = try MergeLayout(inputs, layer: Self.kerasClassName)
        try checkGradientShape(outputGradient, layout.shape, layer: Self.kerasClassName)
        let winner = Self.maximum(inputs.indices.map { layout.expand($0, inputs[$0]) }).winner
        return LayerGradients(
            inputs: inputs.indices.map { k in
                var g = outputGradient
                for i in 0..<g.count where winner[i] != k { g.scalars[i] = 0 }
                return layout.reduce(k, g, to: inputs[k].shape)
            })
    }

    /// The element-wise maximum of same-shape tensors and, per element, the first input
    /// holding it.
    static func maximum(_ xs: [Tensor]) -> (value: Tensor, winner: [Int]) {
        var y = xs[0]
        var winner = [Int](repeating: 0, count: y.count)
        for k in 1..<xs.count {
            for i in 0..<y.count where xs[k].scalars[i] > y.scalars[i] {
                y.scalars[i] = xs[k].scalars[i]
                winner[i] = k
            }
        }
        return (y, winner)
    }
}

/// Keras `Multiply`: the element-wise product of two or more inputs whose shapes broadcast,
/// as in squeeze-excitation (`[H, W, C] * [1, 1, C]`). 0 MACs, like `Add`.
public struct Multiply: ElementwiseMerge {
    public static let kerasClassName = "Multiply"
    public var weights: [Tensor] = []

    public init() {}

    public func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let layout = try MergeLayout(inputs, layer: Self.kerasClassName)
        return LayerOutput(Self.product(inputs.indices.map { layout.expand($0, inputs[$0]) }, skipping: nil))
    }

    /// dLoss/dInput_i = dy * product of the other inputs (no division, so zeros are fine),
    /// summed over the axes input i was broadcast along.
    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let layout = try MergeLayout(inputs, layer: Self.kerasClassName)
        try checkGradientShape(outputGradient, layout.shape, layer: Self.kerasClassName)
        let expanded = inputs.indices.map { layout.expand($0, inputs[$0]) }
        return LayerGradients(
            inputs: inputs.indices.map { i in
                layout.reduce(i, Self.product([outputGradient] + expanded, skipping: i + 1), to: inputs[i].shape)
            })
    }

    /// The element-wise product of same-shape `tensors`, leaving out index `skipping`.
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
            throw LayerError.inputShape(
                "Concatenate needs inputs that agree on every axis but the last; got "
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

    public func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
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
            throw LayerError.inputShape(
                "Concatenate needs inputs of one batch size; got \(batches.map(String.init).joined(separator: ", "))")
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

// MARK: - Surgery

extension Concatenate: SurgeryRule {
    /// The output is the inputs' channels end to end, each input at its offset.
    public func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .concatenated }

    public func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

// MARK: - Examples

extension Add {
    public static var examples: [LayerExample] {
        [
            LayerExample("Add", inputs: 2) { Add() },
            LayerExample("Add of three", inputs: 3) { Add() },
            LayerExample("Add broadcasting [1, 1, C]", inputForms: [.image, .pooled]) { Add() },
            LayerExample("Add from its Keras config (empty)", inputs: 2) { try Add(config: LayerConfig()) },
        ]
    }
}

extension Subtract {
    public static var examples: [LayerExample] {
        [
            LayerExample("Subtract", inputs: 2) { Subtract() },
            LayerExample("Subtract broadcasting [1, 1, C]", inputForms: [.pooled, .image]) { Subtract() },
            LayerExample("Subtract from its Keras config (empty)", inputs: 2) { try Subtract(config: LayerConfig()) },
        ]
    }
}

extension Average {
    public static var examples: [LayerExample] {
        [
            LayerExample("Average", inputs: 2) { Average() },
            LayerExample("Average of three", inputs: 3) { Average() },
            LayerExample("Average from its Keras config (empty)", inputs: 2) { try Average(config: LayerConfig()) },
        ]
    }
}

extension Maximum {
    public static var examples: [LayerExample] {
        [
            LayerExample("Maximum", inputs: 2) { Maximum() },
            LayerExample("Maximum of three with a [1, 1, C] input", inputForms: [.image, .pooled, .image]) {
                Maximum()
            },
            LayerExample("Maximum from its Keras config (empty)", inputs: 2) { try Maximum(config: LayerConfig()) },
        ]
    }
}

extension Multiply {
    public static var examples: [LayerExample] {
        [
            LayerExample("Multiply", inputs: 2) { Multiply() },
            LayerExample("Multiply by a squeeze-excitation gate", inputForms: [.image, .pooled]) { Multiply() },
            LayerExample("Multiply gate first", inputForms: [.pooled, .image]) { Multiply() },
            LayerExample("Multiply by a flat gate", inputForms: [.image, .flat]) { Multiply() },
            LayerExample("Multiply from its Keras config (empty)", inputs: 2) { try Multiply(config: LayerConfig()) },
        ]
    }
}

extension Concatenate {
    public static var examples: [LayerExample] {
        [
            LayerExample("Concatenate", inputs: 2) { Concatenate() },
            LayerExample("Concatenate from its Keras config (axis -1)", inputs: 2) {
                try Concatenate(config: LayerConfig(["axis": -1]))
            },
        ]
    }
}
