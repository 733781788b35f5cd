import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class LayerRegistryTests: XCTestCase {
    /// A representative configuration of every built-in type. A new built-in type without an
    /// entry here fails `testEveryBuiltinType_hasASampleThatRoundTrips`.
    static let samples: [String: LayerConfig] = [
        "InputLayer": LayerConfig(["batch_shape": [.null, 5, 7, 3]]),
        "Conv2D": LayerConfig(["filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu"]),
        "DepthwiseConv2D": LayerConfig(["kernel_size": 3, "depth_multiplier": 2, "padding": "same"]),
        "SeparableConv2D": LayerConfig(["filters": 4, "kernel_size": 3, "depth_multiplier": 2, "padding": "same", "activation": "relu"]),
        "Conv2DTranspose": LayerConfig(["filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": .null]),
        "Dense": LayerConfig(["units": 10, "activation": "softmax"]),
        "BatchNormalization": LayerConfig(["momentum": 0.9, "epsilon": 1e-5]),
        "Activation": LayerConfig(["activation": "swish"]),
        "ReLU": LayerConfig(["max_value": 6]),
        "Softmax": LayerConfig(["axis": -1]),
        "MaxPooling2D": LayerConfig(["pool_size": 2]),
        "AveragePooling2D": LayerConfig(["pool_size": 3, "strides": 2, "padding": "same"]),
        "GlobalAveragePooling2D": LayerConfig(),
        "GlobalMaxPooling2D": LayerConfig(["keepdims": false]),
        "Flatten": LayerConfig(),
        "Dropout": LayerConfig(["rate": 0.5]),
        "ZeroPadding2D": LayerConfig(["padding": [1, 2]]),
        "Cropping2D": LayerConfig(["cropping": [[1, 0], [2, 1]]]),
        "UpSampling2D": LayerConfig(["size": [2, 3], "interpolation": "nearest"]),
        "Add": LayerConfig(),
        "Multiply": LayerConfig(),
        "Concatenate": LayerConfig(["axis": -1]),
        "Subtract": LayerConfig(),
        "Average": LayerConfig(),
        "Maximum": LayerConfig(),
        "Reshape": LayerConfig(["target_shape": [1, 1, -1]]),
        "Rescaling": LayerConfig(["scale": 0.00392156862745098, "offset": -0.5]),
        "Normalization": LayerConfig(["axis": [-1], "invert": false, "mean": .null, "variance": .null]),
        "LeakyReLU": LayerConfig(["negative_slope": 0.2]),
        "PReLU": LayerConfig(["shared_axes": [1, 2]]),
    ]

    func testEveryBuiltinType_isRegisteredExactlyOnce() {
        let names = LayerRegistry.builtinTypes.map { $0.kerasClassName }
        XCTAssertEqual(Set(names).count, names.count, "duplicate built-in names: \(names)")
        XCTAssertEqual(LayerRegistry.standard.names, names.sorted())
        for type in LayerRegistry.builtinTypes {
            XCTAssertTrue(LayerRegistry.standard.type(named: type.kerasClassName) == type, type.kerasClassName)
        }
        for expected in ["InputLayer", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "Dense", "BatchNormalization",
                         "Activation", "ReLU", "Softmax", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
                         "Flatten", "Dropout", "ZeroPadding2D", "Cropping2D", "UpSampling2D", "Add", "Multiply", "Concatenate",
                         "Subtract", "Average", "Maximum", "Reshape", "Rescaling", "Normalization", "LeakyReLU", "PReLU"] {
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
            func backward(_ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext) throws -> LayerGradients {
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
            XCTAssertEqual("\(error)", "unknown layer type 'LSTM'; supported: " + LayerRegistry.standard.names.joined(separator: ", "))
        }
    }

    func testEveryBuiltinType_hasASampleThatRoundTrips() throws {
        for type in LayerRegistry.builtinTypes {
            guard let config = Self.samples[type.kerasClassName] else {
                XCTFail("no sample configuration (and so probably no tests) for \(type.kerasClassName)")
                continue
            }
            let layer = try LayerRegistry.standard.makeLayer(className: type.kerasClassName, config: config)
            XCTAssertEqual(try type.init(config: layer.config).config, layer.config, type.kerasClassName)
            assertConfigRoundTrip(layer)
        }
        XCTAssertEqual(Set(Self.samples.keys), Set(LayerRegistry.builtinTypes.map { $0.kerasClassName }),
                       "samples for types that are not built in")
    }
}
