import Foundation
import SurgeonCore

// MARK: - Rectifier

/// `max(x, 0)`, declaring `rectifiesOutput` (the tensors APoZ measures).
struct Rectifier: Layer, SurgeryRule {
    static let kerasClassName = "TestRectifier"
    static var examples: [LayerExample] { [LayerExample("TestRectifier") { Rectifier() }] }
    var weights: [Tensor] = []

    init() {}
    init(config: LayerConfig) throws {}
    var config: LayerConfig { LayerConfig() }
    var rectifiesOutput: Bool { true }

    func outputShape(for inputShapes: [Shape]) throws -> Shape { try onlyInput(inputShapes) }

    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        LayerOutput(try onlyInput(inputs).map { max($0, 0) })
    }

    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        let x = try onlyInput(inputs)
        try checkGradient(outputGradient, is: x.shape, in: Self.kerasClassName)
        var dx = outputGradient
        for i in 0..<dx.count where x.scalars[i] <= 0 { dx.scalars[i] = 0 }
        return LayerGradients(inputs: [dx])
    }

    func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }
    func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}

// MARK: - Probabilities

/// A softmax over the last axis, declaring `producesProbabilities` (the trainer's loss then does
/// not apply softmax again). Every output depends on every input channel, so its channels
/// cannot be pruned.
struct Probabilities: Layer, SurgeryRule {
    static let kerasClassName = "TestProbabilities"
    static var examples: [LayerExample] { [LayerExample("TestProbabilities", flatInput: true) { Probabilities() }] }
    var weights: [Tensor] = []

    init() {}
    init(config: LayerConfig) throws {}
    var config: LayerConfig { LayerConfig() }
    var producesProbabilities: Bool { true }

    func outputShape(for inputShapes: [Shape]) throws -> Shape {
        let input = try onlyInput(inputShapes)
        _ = try channelCount(of: input, in: Self.kerasClassName)
        return input
    }

    /// `exp(x_j - max) / sum_i exp(x_i - max)` per row of the last axis, in Double.
    static func softmax(_ x: Tensor) -> Tensor {
        let c = x.channelCount
        var y = x
        for row in 0..<(x.count / max(c, 1)) {
            let values = (0..<c).map { Double(x.scalars[row * c + $0]) }
            let top = values.max() ?? 0
            let total = values.reduce(0) { $0 + exp($1 - top) }
            for j in 0..<c { y.scalars[row * c + j] = Float(exp(values[j] - top) / total) }
        }
        return y
    }

    /// dLoss/dInput from dLoss/dOutput and the output `y`: `y * (dy - sum(dy * y))` per row.
    static func backward(_ dy: Tensor, output y: Tensor) -> Tensor {
        let c = y.channelCount
        var dx = dy
        for row in 0..<(y.count / max(c, 1)) {
            var dot = 0.0
            for j in 0..<c { dot += Double(dy.scalars[row * c + j]) * Double(y.scalars[row * c + j]) }
            for j in 0..<c {
                dx.scalars[row * c + j] = Float(
                    Double(y.scalars[row * c + j]) * (Double(dy.scalars[row * c + j]) - dot))
            }
        }
        return dx
    }

    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        LayerOutput(Self.softmax(try onlyInput(inputs)))
    }

    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        try checkGradient(outputGradient, is: try onlyInput(inputs).shape, in: Self.kerasClassName)
        return LayerGradients(inputs: [Self.backward(outputGradient, output: output.value)])
    }

    func channelMap(inputShapes: [Shape]) throws -> ChannelMap { .identity }
    var outputChannelsArePrunable: Bool { false }
    func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer { self }
}
