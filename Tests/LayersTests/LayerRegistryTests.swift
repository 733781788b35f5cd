import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class LayerRegistryTests: XCTestCase {
    func testEveryBuiltinType_isRegisteredExactlyOnce() {
        let names = LayerRegistry.builtinTypes.map { $0.kerasClassName }
        XCTAssertEqual(Set(names).count, names.count, "duplicate built-in names: \(names)")
        XCTAssertEqual(LayerRegistry.standard.names, names.sorted())
        for type in LayerRegistry.builtinTypes {
            XCTAssertTrue(LayerRegistry.standard.type(named: type.kerasClassName) == type, type.kerasClassName)
        }
        for expected in [
            "InputLayer", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "Dense",
            "BatchNormalization",
            "Activation", "ReLU", "Softmax", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
            "GlobalMaxPooling2D",
            "Flatten", "Dropout", "ZeroPadding2D", "Cropping2D", "UpSampling2D", "Add", "Multiply", "Concatenate",
            "Subtract", "Average", "Maximum", "Reshape", "Rescaling", "Normalization", "LeakyReLU", "PReLU",
        ] {
            XCTAssertNotNil(LayerRegistry.standard.type(named: expected), "\(expected) is not registered")
        }
    }

    func testRegisteringADuplicateName_throwsNamingTheType() {
        var registry = LayerRegistry.standard
        XCTAssertThrowsError(try registry.register(Conv2D.self)) { error in
            XCTAssertEqual("\(error)", "a layer type named 'Conv2D' is already registered")
        }
        var fresh = LayerRegistry()
        XCTAssertNoThrow(try fresh.register(Add.self))
        XCTAssertThrowsError(try fresh.register(Add.self)) { error in
            XCTAssertEqual(error as? RegistryError, .duplicate(kind: "layer type", name: "Add"))
        }
    }

    func testRegistry_acceptsACustomTypeOnACopy() throws {
        struct Twice: Layer {
            static let kerasClassName = "Twice"
            var weights: [Tensor] = []
            init(config: LayerConfig) throws {}
            var config: LayerConfig { LayerConfig() }
            func outputShape(for inputShapes: [Shape]) throws -> Shape { inputShapes[0] }
            func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
                var y = inputs[0]; y.scale(by: 2); return LayerOutput(y)
            }
            func backward(
                _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
            ) throws -> LayerGradients {
                var g = outputGradient; g.scale(by: 2); return LayerGradients(inputs: [g])
            }
        }
        var registry = LayerRegistry.standard
        try registry.register(Twice.self)
        XCTAssertNotNil(registry.type(named: "Twice"))
        XCTAssertNil(LayerRegistry.standard.type(named: "Twice"), "the standard registry is not changed")
        let layer = try registry.makeLayer(className: "Twice", config: LayerConfig())
        try checkGradients(layer, inputs: [batch(2, [3], seed: 1)])
    }

    func testUnknownClassName_listsTheSupportedTypes() {
        XCTAssertThrowsError(try LayerRegistry.standard.makeLayer(className: "LSTM", config: LayerConfig())) { error in
            XCTAssertEqual(
                "\(error)",
                "unknown layer type 'LSTM'; supported: " + LayerRegistry.standard.names.joined(separator: ", "))
        }
    }

    // MARK: - The examples every type declares

    func testEveryRegisteredType_declaresExamplesThatRoundTrip() throws {
        XCTAssertEqual(layerExampleProblems(in: .standard), [])
        var count = 0
        for type in LayerRegistry.standard.registeredTypes {
            XCTAssertFalse(type.examples.isEmpty, "\(type.kerasClassName) declares no examples")
            for example in type.examples {
                let layer = try example.make()
                XCTAssertEqual(try type.init(config: layer.config).config, layer.config, example.name)
                assertConfigRoundTrip(layer)
                count += 1
            }
        }
        XCTAssertGreaterThanOrEqual(
            count, LayerRegistry.builtinTypes.count * 2, "every built-in type has a case and its Keras config")
    }

    func testATypeWithoutExamples_isReportedByName() throws {
        var registry = LayerRegistry.standard
        try registry.register(WithoutExamples.self)
        XCTAssertEqual(
            layerExampleProblems(in: registry),
            ["WithoutExamples declares no examples (static var examples), so no generic checker covers it"])
    }

    func testExamplesThatDoNotFitOrRoundTrip_areReportedByName() throws {
        var registry = LayerRegistry()
        try registry.register([MisdeclaredExamples.self, Add.self])
        assertProblems(
            layerExampleProblems(in: registry),
            [
                [
                    "MisdeclaredExamples example 'forgets its factor' does not accept its own inputs [[4, 4, 4], [4, "
                        + "4, 4]]",
                    "expects 1 input(s), got 2",
                ],
                ["MisdeclaredExamples example 'forgets its factor': its config", "reads back as"],
                ["MisdeclaredExamples example 'makes another type' makes a Add"],
            ])
    }

    // MARK: - Capabilities

    func testEveryExample_declaresCapabilitiesConsistentWithWhatItComputes() throws {
        var rectifiers: [String] = [], scales: [String] = []
        for type in LayerRegistry.standard.registeredTypes {
            for example in type.examples {
                XCTAssertEqual(try layerCapabilityProblems(example), [], example.name)
                let layer = try example.make()
                if layer.rectifiesOutput { rectifiers.append(example.name) }
                if layer.channelScaleIndex != nil { scales.append(example.name) }
            }
        }
        for name in [
            "Conv2D 3x3 same relu", "Dense relu", "Activation relu", "Activation relu6", "ReLU",
            "ReLU from its Keras config (max_value 6)", "SeparableConv2D 3x3 same relu m=1",
        ] {
            XCTAssertTrue(rectifiers.contains(name), "\(name) should rectify its output")
        }
        XCTAssertFalse(rectifiers.contains("ReLU capped leaky"), "a leaky ReLU leaves negative values")
        // BatchNorm scales its channels exactly when it has a gamma; other types may declare a
        // scale too (layerCapabilityProblems checks that zeroing it silences the channel).
        XCTAssertTrue(
            Set(scales).isSuperset(of: [
                "BatchNormalization", "BatchNormalization center false",
                "BatchNormalization from its Keras config (epsilon 1e-5)",
            ]), "\(scales)")
        XCTAssertFalse(
            scales.contains("BatchNormalization scale false"), "a BatchNorm without gamma has no channel scale")
    }

    func testWrongCapabilityDeclarations_areReported() throws {
        let name = "tanh that claims too much"
        assertProblems(
            try layerCapabilityProblems(LayerExample(name) { ClaimsTooMuch() }),
            [
                ["\(name): activation relu but rectifiesOutput is false"],
                ["\(name): weight 0 is gamma but channelScaleIndex is nil"],
            ])
        assertProblems(
            try layerCapabilityProblems(LayerExample(name) { ClaimsTooMuch(claims: true) }),
            [
                ["\(name): rectifiesOutput but an output is negative"],
                ["\(name): rectifiesOutput but no output is an exact zero"],
                ["\(name): a zero channel scale leaves output channel 0 varying"],
                ["\(name): zeroing the scale of channel 0 changes other channels"],
            ])
    }

    /// `problems` are as many as `expected`, each containing its fragments, in order.
    private func assertProblems(
        _ problems: [String], _ expected: [[String]], file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(problems.count, expected.count, "\(problems)", file: file, line: line)
        for (problem, fragments) in zip(problems, expected) {
            for fragment in fragments {
                XCTAssertTrue(
                    problem.contains(fragment), "'\(problem)' does not contain '\(fragment)'", file: file, line: line)
            }
        }
    }
}

/// A registered type that declares no examples.
private struct WithoutExamples: Layer {
    static let kerasClassName = "WithoutExamples"
    var weights: [Tensor] = []
    init(config: LayerConfig) throws {}
    var config: LayerConfig { LayerConfig() }
    func outputShape(for inputShapes: [Shape]) throws -> Shape { inputShapes[0] }
    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput { LayerOutput(inputs[0]) }
    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        LayerGradients(inputs: [outputGradient])
    }
}

/// Examples that go wrong three ways: two inputs for a one-input layer, a config that does not
/// read back (the factor is not read), and a layer of another type.
private struct MisdeclaredExamples: Layer {
    static let kerasClassName = "MisdeclaredExamples"
    static var examples: [LayerExample] {
        [
            LayerExample("forgets its factor", inputs: 2) { MisdeclaredExamples(factor: 3) },
            LayerExample("makes another type") { Add() },
        ]
    }
    var factor: Double = 1
    var weights: [Tensor] = []
    init(factor: Double) { self.factor = factor }
    init(config: LayerConfig) throws {}
    var config: LayerConfig { LayerConfig(["factor": .number(factor)]) }
    func outputShape(for inputShapes: [Shape]) throws -> Shape {
        guard inputShapes.count == 1 else { throw LayerError.inputCount(expected: "1", actual: inputShapes.count) }
        return inputShapes[0]
    }
    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput { LayerOutput(inputs[0]) }
    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        LayerGradients(inputs: [outputGradient])
    }
}

/// tanh with a fused-activation config of relu and a weight named gamma, which it neither
/// rectifies nor declares as its channel scale (or, with `claims`, says that it rectifies and
/// that its weight scales channel by channel, while the weight's sum scales them all).
private struct ClaimsTooMuch: Layer {
    static let kerasClassName = "ClaimsTooMuch"
    var claims = false
    var weights: [Tensor] = []
    init(claims: Bool = false) { self.claims = claims }
    init(config: LayerConfig) throws {}
    var config: LayerConfig { LayerConfig(["activation": claims ? "tanh" : "relu"]) }
    var weightNames: [String] { claims ? ["scale"] : ["gamma"] }
    var rectifiesOutput: Bool { claims }
    var channelScaleIndex: Int? { claims ? 0 : nil }
    func outputShape(for inputShapes: [Shape]) throws -> Shape { inputShapes[0] }
    func weightShapes(for inputShapes: [Shape]) throws -> [Shape] { [[inputShapes[0].last ?? 1]] }
    func initialWeights(for inputShapes: [Shape], random: inout SeededRandom) throws -> [Tensor] {
        [Tensor(shape: [inputShapes[0].last ?? 1], repeating: 1)]
    }
    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        var y = ActivationFunction.tanh.apply(inputs[0])
        y.scale(by: weights[0].scalars.reduce(0, +))
        return LayerOutput(y)
    }
    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        LayerGradients(inputs: [outputGradient], weights: [weights[0]])
    }
}
