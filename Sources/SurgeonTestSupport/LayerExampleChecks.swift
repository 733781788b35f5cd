import SurgeonCore

/// What is wrong with the examples the types of `registry` declare; empty when nothing is.
///
/// A type must declare at least one example (else no generic checker covers it), and each
/// example must make a layer of its type that accepts the example's inputs and whose
/// configuration round-trips (`Type(config: layer.config).config == layer.config`). Example
/// names are unique across the registry, since failures name them. The problems are returned,
/// not asserted, so that a test can show that a type without examples is caught.
public func layerExampleProblems(in registry: LayerRegistry) -> [String] {
    var problems: [String] = []
    var seen: [String: String] = [:]
    for type in registry.registeredTypes {
        let name = type.kerasClassName
        if type.examples.isEmpty {
            problems.append("\(name) declares no examples (static var examples), so no generic checker covers it")
        }
        for example in type.examples {
            if let other = seen[example.name] {
                problems.append("\(name): the example name '\(example.name)' is used by \(other) too")
            }
            seen[example.name] = name
            problems += exampleProblems(example, of: type)
        }
    }
    return problems
}

/// One example's problems (see `layerExampleProblems`).
private func exampleProblems(_ example: LayerExample, of type: any Layer.Type) -> [String] {
    let label = "\(type.kerasClassName) example '\(example.name)'"
    let layer: any Layer
    do { layer = try example.make() } catch { return ["\(label) cannot be made: \(error)"] }
    guard layer.kerasClassName == type.kerasClassName else { return ["\(label) makes a \(layer.kerasClassName)"] }
    var problems: [String] = []
    let shapes = example.inputShapes()
    do { _ = try layer.outputShape(for: shapes) } catch {
        problems.append("\(label) does not accept its own inputs \(shapes): \(error)")
    }
    do {
        let again = try type.init(config: layer.config)
        if again.config != layer.config {
            problems.append("\(label): its config \(layer.config) reads back as \(again.config)")
        }
    } catch {
        problems.append("\(label): its own config \(layer.config) does not read back: \(error)")
    }
    return problems
}

/// Whether an example's layer answers the capability questions strategies ask consistently with
/// what it computes; empty when it does. On the example's inputs (see `exampleLayerAndInputs`),
/// in inference mode:
/// - a fused `activation` of relu or relu6 implies `rectifiesOutput`; a layer that says
///   `rectifiesOutput` (what APoZ measures) outputs no negative value and some exact zeros;
/// - a fused `activation` of softmax implies `producesProbabilities`; a layer that says so
///   outputs rows of non-negative values summing to 1 over the last axis;
/// - a weight named `gamma` is the `channelScaleIndex`; a channel scale is a trainable weight
///   of one value per output channel, and zeroing channel 0's makes that output channel
///   constant (Network Slimming's premise).
///
/// An example without inputs (a graph input) is checked for the declarations only.
public func layerCapabilityProblems(_ example: LayerExample, seed: UInt64 = 1) throws -> [String] {
    let shapes = example.inputShapes(height: 4, width: 5, channels: 3)
    let label = "\(example.name)"
    var problems: [String] = []
    let made = try example.make()
    if case let .string(activation)? = made.config["activation"] {
        if ["relu", "relu6"].contains(activation), !made.rectifiesOutput {
            problems.append("\(label): activation \(activation) but rectifiesOutput is false")
        }
        if activation == "softmax", !made.producesProbabilities {
            problems.append("\(label): activation softmax but producesProbabilities is false")
        }
    }
    if let gamma = made.weightNames.firstIndex(of: "gamma"), made.channelScaleIndex != gamma {
        problems.append(
            "\(label): weight \(gamma) is gamma but channelScaleIndex is "
                + "\(made.channelScaleIndex.map { "\($0)" } ?? "nil")"
        )
    }
    guard !shapes.isEmpty else { return problems }
    let (layer, inputs) = try exampleLayerAndInputs(example, shapes: shapes, batch: 2, seed: seed)
    let y = try layer.forward(inputs, context: .inference).value
    if layer.rectifiesOutput {
        if y.scalars.contains(where: { $0 < 0 }) {
            problems.append("\(label): rectifiesOutput but an output is negative")
        }
        if !y.scalars.contains(0) { problems.append("\(label): rectifiesOutput but no output is an exact zero") }
    }
    if layer.producesProbabilities {
        let c = y.channelCount
        for row in stride(from: 0, to: y.count, by: max(c, 1)) {
            let values = y.scalars[row..<(row + c)]
            if values.contains(where: { $0 < 0 }) || abs(values.reduce(0, +) - 1) > 1e-4 {
                problems.append("\(label): producesProbabilities but output row \(row / max(c, 1)) is \(Array(values))")
                break
            }
        }
    }
    if let k = layer.channelScaleIndex {
        problems += channelScaleProblems(layer, index: k, inputs: inputs, output: y, label: label)
    }
    return problems
}

/// `channelScaleIndex` names a trainable `[C]` weight, and zeroing its channel 0 makes output
/// channel 0 constant while the other channels keep their values.
private func channelScaleProblems(
    _ layer: any Layer, index k: Int, inputs: [Tensor], output y: Tensor, label: String
) -> [String] {
    let c = y.channelCount
    guard k < layer.trainableWeightCount, layer.weights[k].shape == [c] else {
        return [
            "\(label): channelScaleIndex \(k) is not a trainable weight of shape [\(c)] "
                + "(\(layer.trainableWeightCount) trainable, shapes \(layer.weights.map(\.shape)))"
        ]
    }
    var scaled = layer
    scaled.weights[k].scalars[0] = 0
    let z: Tensor
    do { z = try scaled.forward(inputs, context: .inference).value } catch { return ["\(label): \(error)"] }
    let channel0 = stride(from: 0, to: z.count, by: c).map { z.scalars[$0] }
    var problems: [String] = []
    if Set(channel0).count > 1 {
        problems.append("\(label): a zero channel scale leaves output channel 0 varying: \(channel0.prefix(4))...")
    }
    let others = z.scalars.indices.filter { $0 % c != 0 }
    if others.contains(where: { z.scalars[$0] != y.scalars[$0] }) {
        problems.append("\(label): zeroing the scale of channel 0 changes other channels")
    }
    return problems
}
