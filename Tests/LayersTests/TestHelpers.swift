import Foundation
import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// Builds a layer of `type` from a Keras-style configuration dictionary.
func make<L: Layer>(_ type: L.Type, _ values: [String: ConfigValue] = [:]) throws -> L {
    try L(config: LayerConfig(values))
}

/// The layer with weights of the shapes it wants for `inputShapes`, filled with seeded uniform
/// values in `range` (so biases are non-zero, unlike Keras's initial weights).
func withRandomWeights<L: Layer>(
    _ layer: L, inputShapes: [Shape], seed: UInt64, range: ClosedRange<Float> = -1...1
) throws -> L {
    var copy = layer
    copy.weights = try layer.weightShapes(for: inputShapes).enumerated().map { k, shape in
        Tensor.random(shape: shape, seed: seed &+ UInt64(k) &* 7919, range: range)
    }
    return copy
}

/// A batch `[n] + sample` of seeded uniform values.
func batch(_ n: Int, _ sample: Shape, seed: UInt64, range: ClosedRange<Float> = -1...1) -> Tensor {
    Tensor.random(shape: [n] + sample, seed: seed, range: range)
}

/// Asserts that `expression` throws an error whose description is exactly `message`.
func assertThrows<T>(
    _ expression: @autoclosure () throws -> T, _ message: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertThrowsError(try expression(), file: file, line: line) { error in
        XCTAssertEqual("\(error)", message, file: file, line: line)
    }
}

/// Asserts that `expression` throws an error whose description contains every fragment.
func assertThrows<T>(
    _ expression: @autoclosure () throws -> T, containing fragments: [String],
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertThrowsError(try expression(), file: file, line: line) { error in
        for fragment in fragments {
            XCTAssertTrue(
                "\(error)".contains(fragment), "'\(error)' does not contain '\(fragment)'", file: file, line: line)
        }
    }
}

/// `init(config: layer.config)` reproduces the config, directly, through the standard registry
/// and through JSON.
func assertConfigRoundTrip(_ layer: some Layer, file: StaticString = #filePath, line: UInt = #line) {
    do {
        let config = layer.config
        let again = try type(of: layer).init(config: config)
        XCTAssertEqual(again.config, config, "direct round trip of \(layer.kerasClassName)", file: file, line: line)
        let viaRegistry = try LayerRegistry.standard.makeLayer(className: layer.kerasClassName, config: config)
        XCTAssertEqual(
            viaRegistry.config, config, "registry round trip of \(layer.kerasClassName)", file: file, line: line)
        XCTAssertTrue(type(of: viaRegistry) == type(of: layer), file: file, line: line)
        let json = try JSONEncoder().encode(config)
        let decoded = try JSONDecoder().decode(LayerConfig.self, from: json)
        XCTAssertEqual(
            try type(of: layer).init(config: decoded).config, config,
            "JSON round trip of \(layer.kerasClassName)", file: file, line: line)
    } catch {
        XCTFail("round trip of \(layer.kerasClassName) threw \(error)", file: file, line: line)
    }
}

/// The output of a layer in the given mode.
func evaluate(_ layer: some Layer, _ inputs: Tensor..., training: Bool = false, seed: UInt64 = 0) throws -> Tensor {
    try layer.forward(inputs, context: ForwardContext(training: training, seed: seed)).value
}

/// A seed in `1...200` for which `build(seed)` gives a layer and inputs whose pre-activations
/// (computed by `preActivation`) all lie at least `margin` from every kink, so that finite
/// differences never cross one. Returns the first seed that works.
func kinkFreeSeed(
    kinks: [Float], margin: Float = 0.02,
    preActivation: (UInt64) throws -> Tensor, file: StaticString = #filePath, line: UInt = #line
) throws -> UInt64 {
    guard !kinks.isEmpty else { return 1 }
    for seed: UInt64 in 1...200 {
        let z = try preActivation(seed)
        if z.scalars.allSatisfy({ v in kinks.allSatisfy { abs(v - $0) >= margin } }) { return seed }
    }
    XCTFail("no seed in 1...200 keeps the pre-activations away from \(kinks)", file: file, line: line)
    return 1
}

extension ActivationFunction {
    /// A Keras name accepted by `init(kerasName:)`.
    var kerasName: String { rawValue }
}

/// Runs `layer` forward and backward (training mode) on the whole batch `x` and on each sample
/// alone: outputs and input gradients must agree sample by sample, and the gradient of the
/// first weight (the kernel) must be the sum of the per-sample ones. For kernels that split a
/// batch into slices and accumulate over them.
func assertBatchMatchesSamples(
    _ layer: any Layer, _ x: Tensor, gradientSeed: UInt64, kernelMessage: String,
    file: StaticString = #filePath, line: UInt = #line
) throws {
    let context = ForwardContext(training: true)
    let out = try layer.forward([x], context: context)
    let dy = Tensor.random(shape: out.value.shape, seed: gradientSeed)
    let grads = try layer.backward(dy, inputs: [x], output: out, context: context)
    var kernelSum = Tensor(shape: layer.weights[0].shape)
    for n in 0..<x.shape[0] {
        let xn = x.slice(rows: n..<(n + 1)), dyn = dy.slice(rows: n..<(n + 1))
        let outn = try layer.forward([xn], context: context)
        assertClose(
            outn.value, out.value.slice(rows: n..<(n + 1)), tolerance: 1e-5, "output of sample \(n)", file: file,
            line: line)
        let gn = try layer.backward(dyn, inputs: [xn], output: outn, context: context)
        assertClose(
            gn.inputs[0], grads.inputs[0].slice(rows: n..<(n + 1)), tolerance: 1e-5, "input gradient of sample \(n)",
            file: file, line: line)
        kernelSum.add(gn.weights[0])
    }
    assertClose(grads.weights[0], kernelSum, tolerance: 1e-4, kernelMessage, file: file, line: line)
}
