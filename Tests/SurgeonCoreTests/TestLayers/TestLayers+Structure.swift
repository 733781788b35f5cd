import SurgeonCore

// MARK: - Source

/// A graph input of per-sample shape `shape` (config `shape`): fresh channels that are the
/// data's, so never prunable.
struct Source: Layer, SurgeryRule {
    static let kerasClassName = "TestSource"
    let shape: Shape
    var weights: [Tensor] = []

    init(shape: Shape) { self.shape = shape }

    init(config: LayerConfig) throws {
        let sizes = try config.intList("shape")
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
            let value = ConfigValue.array(sizes.map { $0.map { .number(Double($0)) } ?? .null })
            throw LayerError.config(.invalid(key: "shape", value: value.description, expected: "positive sizes"))
        }
        shape = sizes.compactMap { $0 }
    }

    var config: LayerConfig { LayerConfig(["shape": .array(shape.map { .number(Double($0)) })]) }

    func outputShape(for inputShapes: [Shape]) throws -> Shape {
        guard inputShapes.isEmpty else { throw LayerError.inputCount(expected: "no", actual: inputShapes.count) }
        return shape
    }

    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        guard let x = inputs.first else { throw LayerError.inputCount(expected: "1", actual: 0) }
        return LayerOutput(x)
    }

    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        LayerGradients(inputs: [])
    }

    func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .fresh }
    var outputChannelsArePrunable: Bool { false }

    func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        throw LayerError.unsupported("the channels of a graph input are the data's and cannot be deleted")
    }
}

// MARK: - Sum

/// The element-wise sum of inputs of one shape: its inputs and output share every channel.
struct Sum: Layer, SurgeryRule {
    static let kerasClassName = "TestSum"
    static var examples: [LayerExample] {
        [
            LayerExample("TestSum of 2", inputs: 2) { Sum() },
            LayerExample("TestSum of 3 flat", inputs: 3, flatInput: true) { Sum() },
        ]
    }
    var weights: [Tensor] = []

    init() {}
    init(config: LayerConfig) throws {}
    var config: LayerConfig { LayerConfig() }

    func outputShape(for inputShapes: [Shape]) throws -> Shape {
        guard let first = inputShapes.first, inputShapes.count >= 2 else {
            throw LayerError.inputCount(expected: "at least 2", actual: inputShapes.count)
        }
        guard inputShapes.allSatisfy({ $0 == first }) else {
            throw LayerError.inputShape(
                "TestSum needs inputs of one shape, got \(inputShapes.map { "\($0)" }.joined(separator: " and "))")
        }
        return first
    }

    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        _ = try outputShape(for: inputs.map { $0.shape })
        var y = inputs[0]
        for x in inputs.dropFirst() { y.add(x) }
        return LayerOutput(y)
    }

    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        try checkGradient(outputGradient, is: try outputShape(for: inputs.map { $0.shape }), in: Self.kerasClassName)
        return LayerGradients(inputs: inputs.map { _ in outputGradient })
    }

    func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .tied }
    func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

// MARK: - Join

/// Concatenates its inputs along the last axis; all other axes must agree.
struct Join: Layer, SurgeryRule {
    static let kerasClassName = "TestJoin"
    static var examples: [LayerExample] {
        [
            LayerExample("TestJoin of 2", inputs: 2) { Join() },
            LayerExample("TestJoin of 2 flat", inputs: 2, flatInput: true) { Join() },
        ]
    }
    var weights: [Tensor] = []

    init() {}
    init(config: LayerConfig) throws {}
    var config: LayerConfig { LayerConfig() }

    func outputShape(for inputShapes: [Shape]) throws -> Shape {
        guard let first = inputShapes.first else { throw LayerError.inputCount(expected: "at least 1", actual: 0) }
        guard !first.isEmpty, inputShapes.allSatisfy({ $0.count == first.count && $0.dropLast() == first.dropLast() })
        else {
            let listed = inputShapes.map { "\($0)" }.joined(separator: " and ")
            throw LayerError.inputShape("TestJoin needs inputs that differ only in channels, got \(listed)")
        }
        return first.dropLast() + [inputShapes.reduce(0) { $0 + ($1.last ?? 0) }]
    }

    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let shape = try outputShape(for: inputs.map { Array($0.shape.dropFirst()) })
        let total = shape.last ?? 0, positions = (inputs.first?.count ?? 0) / max(inputs.first?.channelCount ?? 1, 1)
        var y = Tensor(shape: [inputs[0].shape[0]] + shape)
        var offset = 0
        for x in inputs {
            let c = x.channelCount
            for p in 0..<positions {
                for j in 0..<c { y.scalars[p * total + offset + j] = x.scalars[p * c + j] }
            }
            offset += c
        }
        return LayerOutput(y)
    }

    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let shape = try outputShape(for: inputs.map { Array($0.shape.dropFirst()) })
        try checkGradient(outputGradient, is: [inputs[0].shape[0]] + shape, in: Self.kerasClassName)
        let total = outputGradient.channelCount
        var offset = 0
        let grads = inputs.map { x -> Tensor in
            let c = x.channelCount
            var dx = Tensor(shape: x.shape)
            for p in 0..<(x.count / c) {
                for j in 0..<c { dx.scalars[p * c + j] = outputGradient.scalars[p * total + offset + j] }
            }
            offset += c
            return dx
        }
        return LayerGradients(inputs: grads)
    }

    func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .concatenated }
    func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

// MARK: - Flat

/// Flattens a sample to `[features]` in row-major order, so feature `k` of an NHWC image is
/// channel `k % C`.
struct Flat: Layer, SurgeryRule {
    static let kerasClassName = "TestFlatten"
    static var examples: [LayerExample] { [LayerExample("TestFlatten") { Flat() }] }
    var weights: [Tensor] = []

    init() {}
    init(config: LayerConfig) throws {}
    var config: LayerConfig { LayerConfig() }

    func outputShape(for inputShapes: [Shape]) throws -> Shape { [Tensor.elementCount(of: try onlyInput(inputShapes))] }

    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try onlyInput(inputs)
        return LayerOutput(try x.reshaped([x.shape.first ?? 0, x.count / max(x.shape.first ?? 1, 1)]))
    }

    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        LayerGradients(inputs: [try outputGradient.reshaped(try onlyInput(inputs).shape)])
    }

    func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .flattened }
    func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

// MARK: - ChannelMean

/// The mean of each channel over every axis of a sample but the last: `[H, W, C] -> [C]`.
struct ChannelMean: Layer, SurgeryRule {
    static let kerasClassName = "TestChannelMean"
    static var examples: [LayerExample] { [LayerExample("TestChannelMean") { ChannelMean() }] }
    var weights: [Tensor] = []

    init() {}
    init(config: LayerConfig) throws {}
    var config: LayerConfig { LayerConfig() }

    func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try onlyInput(inputShapes)
        guard input.count >= 2 else {
            throw LayerError.inputShape("TestChannelMean needs positions and channels [..., C], got \(input)")
        }
        return [try channelCount(of: input, in: Self.kerasClassName)]
    }

    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        let x = try onlyInput(inputs)
        let c = x.channelCount, n = x.shape.first ?? 0, positions = x.count / max(n * c, 1)
        var y = Tensor(shape: [n, c])
        for s in 0..<n {
            for j in 0..<c {
                var total = 0.0
                for p in 0..<positions { total += Double(x.scalars[(s * positions + p) * c + j]) }
                y.scalars[s * c + j] = Float(total / Double(positions))
            }
        }
        return LayerOutput(y)
    }

    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try onlyInput(inputs)
        let c = x.channelCount, n = x.shape.first ?? 0, positions = x.count / max(n * c, 1)
        try checkGradient(outputGradient, is: [n, c], in: Self.kerasClassName)
        var dx = Tensor(shape: x.shape)
        for s in 0..<n {
            for p in 0..<positions {
                for j in 0..<c {
                    dx.scalars[(s * positions + p) * c + j] = outputGradient.scalars[s * c + j] / Float(positions)
                }
            }
        }
        return LayerGradients(inputs: [dx])
    }

    func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }
    func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}
