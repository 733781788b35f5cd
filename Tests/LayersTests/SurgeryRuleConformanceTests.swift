import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// Every registered surgery rule passes the generic checker (`checkSurgeryRule`).
final class SurgeryRuleConformanceTests: XCTestCase {
    /// Cases for every built-in rule; a registered rule without a case fails
    /// `testEveryRegisteredRule_hasACase`.
    static let cases: [String: [SurgeryRuleCase]] = [
        "Conv2D": [
            SurgeryRuleCase("Conv2D 3x3 same relu") { Conv2D(filters: 5, kernelSize: [3, 3], padding: .same, activation: .relu) },
            SurgeryRuleCase("Conv2D 3x3 stride 2 valid no bias") {
                Conv2D(filters: 3, kernelSize: [3, 3], strides: [2, 2], padding: .valid, useBias: false)
            },
            SurgeryRuleCase("Conv2D dilated") { Conv2D(filters: 4, kernelSize: [3, 3], padding: .same, dilationRate: [2, 2]) },
        ],
        "DepthwiseConv2D": [
            SurgeryRuleCase("DepthwiseConv2D m=1") { DepthwiseConv2D(kernelSize: [3, 3], padding: .same) },
            SurgeryRuleCase("DepthwiseConv2D m=3 stride 2") {
                DepthwiseConv2D(kernelSize: [3, 3], strides: [2, 2], padding: .same, depthMultiplier: 3, useBias: false)
            },
        ],
        "SeparableConv2D": [
            SurgeryRuleCase("SeparableConv2D 3x3 same relu m=1") {
                SeparableConv2D(filters: 5, kernelSize: [3, 3], padding: .same, activation: .relu)
            },
            SurgeryRuleCase("SeparableConv2D 3x3 stride 2 valid m=2 no bias") {
                SeparableConv2D(filters: 4, kernelSize: [3, 3], strides: [2, 2], depthMultiplier: 2, useBias: false)
            },
            SurgeryRuleCase("SeparableConv2D dilated m=3 swish") {
                SeparableConv2D(filters: 3, kernelSize: [3, 2], padding: .same, depthMultiplier: 3, dilationRate: [2, 1],
                                activation: .swish)
            },
        ],
        "Conv2DTranspose": [
            SurgeryRuleCase("Conv2DTranspose 3x3 stride 2 same relu") {
                Conv2DTranspose(filters: 5, kernelSize: [3, 3], strides: [2, 2], padding: .same, activation: .relu)
            },
            SurgeryRuleCase("Conv2DTranspose 2x2 stride 2 valid no bias") {
                Conv2DTranspose(filters: 3, kernelSize: [2, 2], strides: [2, 2], useBias: false)
            },
            SurgeryRuleCase("Conv2DTranspose 3x2 stride 1 valid tanh") {
                Conv2DTranspose(filters: 4, kernelSize: [3, 2], activation: .tanh)
            },
            SurgeryRuleCase("Conv2DTranspose kernel 1 < stride 2") {
                Conv2DTranspose(filters: 4, kernelSize: [1, 1], strides: [2, 2], padding: .same)
            },
        ],
        "Dense": [SurgeryRuleCase("Dense relu", flatInput: true) { Dense(units: 5, activation: .relu) }],
        "BatchNormalization": [
            SurgeryRuleCase("BatchNormalization") { BatchNormalization(epsilon: 1e-3, momentum: 0.9) },
            SurgeryRuleCase("BatchNormalization scale false") { BatchNormalization(scale: false) },
            SurgeryRuleCase("BatchNormalization center false") { BatchNormalization(center: false) },
            SurgeryRuleCase("BatchNormalization neither") { BatchNormalization(center: false, scale: false) },
        ],
        "Normalization": [
            SurgeryRuleCase("Normalization with weights") { Normalization() },
            SurgeryRuleCase("Normalization with config lists", channels: 5) {
                Normalization(mean: .perChannel([0.5, -1, 0, 2, 1]), variance: .perChannel([1, 4, 0.25, 2, 0.5]))
            },
        ],
        "Rescaling": [
            SurgeryRuleCase("Rescaling by numbers") { Rescaling(scale: .uniform(0.5), offset: .uniform(-1)) },
            SurgeryRuleCase("Rescaling per channel", channels: 5) {
                Rescaling(scale: .perChannel([1, 2, 0.5, -1, 3]), offset: .perChannel([0, 0.1, 0.2, 0.3, 0.4]))
            },
        ],
        "Activation": ActivationFunction.allCases.filter { $0 != .softmax }.map { f in
            SurgeryRuleCase("Activation \(f.rawValue)") { Activation(f) }
        },
        "ReLU": [
            SurgeryRuleCase("ReLU") { ReLU() },
            SurgeryRuleCase("ReLU capped leaky") { ReLU(maxValue: 0.5, negativeSlope: 0.2, threshold: 0.1) },
        ],
        "LeakyReLU": [SurgeryRuleCase("LeakyReLU") { LeakyReLU() }],
        "PReLU": [
            SurgeryRuleCase("PReLU") { PReLU() },
            SurgeryRuleCase("PReLU shared over height and width") { PReLU(sharedAxes: [1, 2]) },
            SurgeryRuleCase("PReLU shared over channels") { PReLU(sharedAxes: [3]) },
        ],
        "Softmax": [SurgeryRuleCase("Softmax (pins its channels)") { Softmax() }],
        "MaxPooling2D": [SurgeryRuleCase("MaxPooling2D") { MaxPooling2D(poolSize: [2, 2], padding: .same) }],
        "AveragePooling2D": [SurgeryRuleCase("AveragePooling2D") { AveragePooling2D(poolSize: [3, 3], strides: [2, 2], padding: .same) }],
        "GlobalAveragePooling2D": [
            SurgeryRuleCase("GlobalAveragePooling2D") { GlobalAveragePooling2D() },
            SurgeryRuleCase("GlobalAveragePooling2D keepdims") { GlobalAveragePooling2D(keepdims: true) },
        ],
        "GlobalMaxPooling2D": [
            SurgeryRuleCase("GlobalMaxPooling2D") { GlobalMaxPooling2D() },
            SurgeryRuleCase("GlobalMaxPooling2D keepdims") { GlobalMaxPooling2D(keepdims: true) },
        ],
        "Flatten": [SurgeryRuleCase("Flatten into Dense") { Flatten() }],
        "Reshape": [
            SurgeryRuleCase("Reshape [C] -> [1, 1, C] (squeeze-excitation)", flatInput: true) { try Reshape(targetShape: [1, 1, -1]) },
            SurgeryRuleCase("Reshape [C] -> [1, 1, C] explicit", flatInput: true, channels: 6) { try Reshape(targetShape: [1, 1, 6]) },
            SurgeryRuleCase("Reshape [1, 1, C] -> [C] (MobileNet head)", inputForms: [.pooled]) { try Reshape(targetShape: [-1]) },
            SurgeryRuleCase("Reshape [1, 1, C] -> [C] explicit", inputForms: [.pooled], channels: 5) { try Reshape(targetShape: [5]) },
            SurgeryRuleCase("Reshape [H, W, C] -> [H * W, C]", channels: 5) { try Reshape(targetShape: [-1, 5]) },
            SurgeryRuleCase("Reshape [H, W, C] -> [1, H * W, C]", channels: 5) { try Reshape(targetShape: [1, -1, 5]) },
            SurgeryRuleCase("Reshape [H, W, C] -> [H * W * C] (flattening)") { try Reshape(targetShape: [-1]) },
        ],
        "Dropout": [
            SurgeryRuleCase("Dropout") { Dropout(rate: 0.5) },
            SurgeryRuleCase("Dropout per sample") { Dropout(rate: 0.2, noiseShape: [nil, 1, 1, 1]) },
            SurgeryRuleCase("Dropout per channel", channels: 6) { Dropout(rate: 0.2, noiseShape: [nil, 1, 1, 6]) },
        ],
        "ZeroPadding2D": [SurgeryRuleCase("ZeroPadding2D") { ZeroPadding2D(top: 1, bottom: 0, left: 2, right: 1) }],
        "Cropping2D": [SurgeryRuleCase("Cropping2D") { Cropping2D(top: 1, bottom: 0, left: 2, right: 1) }],
        "UpSampling2D": [
            SurgeryRuleCase("UpSampling2D 2x2") { UpSampling2D() },
            SurgeryRuleCase("UpSampling2D 1x3") { UpSampling2D(size: [1, 3]) },
        ],
        "Add": [
            SurgeryRuleCase("Add", inputs: 2) { Add() }, SurgeryRuleCase("Add of three", inputs: 3) { Add() },
            SurgeryRuleCase("Add broadcasting [1, 1, C]", inputForms: [.image, .pooled]) { Add() },
        ],
        "Subtract": [
            SurgeryRuleCase("Subtract", inputs: 2) { Subtract() },
            SurgeryRuleCase("Subtract broadcasting [1, 1, C]", inputForms: [.pooled, .image]) { Subtract() },
        ],
        "Average": [SurgeryRuleCase("Average", inputs: 2) { Average() }, SurgeryRuleCase("Average of three", inputs: 3) { Average() }],
        "Maximum": [
            SurgeryRuleCase("Maximum", inputs: 2) { Maximum() },
            SurgeryRuleCase("Maximum of three with a [1, 1, C] input", inputForms: [.image, .pooled, .image]) { Maximum() },
        ],
        "Multiply": [
            SurgeryRuleCase("Multiply", inputs: 2) { Multiply() },
            SurgeryRuleCase("Multiply by a squeeze-excitation gate", inputForms: [.image, .pooled]) { Multiply() },
            SurgeryRuleCase("Multiply gate first", inputForms: [.pooled, .image]) { Multiply() },
            SurgeryRuleCase("Multiply by a flat gate", inputForms: [.image, .flat]) { Multiply() },
        ],
        "Concatenate": [SurgeryRuleCase("Concatenate", inputs: 2) { Concatenate() }],
        // The harness's graph input is the InputLayer case: its channels must stay pinned.
        "InputLayer": [SurgeryRuleCase("InputLayer (in every harness)") { Activation(.linear) }],
    ]

    func testEveryBuiltinLayerType_hasARegisteredRule() {
        XCTAssertEqual(LayerRegistry.standard.surgeryRuleNames, LayerRegistry.standard.names)
    }

    func testEveryRegisteredRule_hasACase() {
        for name in LayerRegistry.standard.surgeryRuleNames {
            XCTAssertNotNil(Self.cases[name], "no checker case for the surgery rule of \(name)")
        }
    }

    func testEveryRegisteredRule_passesTheGenericChecker() throws {
        for name in LayerRegistry.standard.surgeryRuleNames {
            for ruleCase in Self.cases[name] ?? [] { try checkSurgeryRule(ruleCase) }
        }
    }

    func testRules_declareTheirChannelMaps() throws {
        XCTAssertEqual(try Conv2D(filters: 2, kernelSize: [1, 1]).channelMap(inputShapes: [[4, 4, 3]]), .fresh)
        XCTAssertEqual(try DepthwiseConv2D(kernelSize: [3, 3], depthMultiplier: 2).channelMap(inputShapes: [[4, 4, 3]]),
                       .expanded(multiplier: 2))
        XCTAssertEqual(try Add().channelMap(inputShapes: [[4, 4, 3], [4, 4, 3]]), .tied)
        XCTAssertEqual(try Multiply().channelMap(inputShapes: [[4, 4, 3], [1, 1, 3]]), .tied)
        XCTAssertEqual(try Reshape(targetShape: [1, 1, 3]).channelMap(inputShapes: [[3]]), .identity)
        XCTAssertEqual(try PReLU().channelMap(inputShapes: [[4, 4, 3]]), .identity)
        XCTAssertEqual(try Normalization().channelMap(inputShapes: [[4, 4, 3]]), .identity)
        XCTAssertEqual(try Concatenate().channelMap(inputShapes: [[4, 4, 3], [4, 4, 2]]), .concatenated)
        XCTAssertEqual(try Flatten().channelMap(inputShapes: [[4, 4, 3]]), .flattened)
        XCTAssertEqual(try SeparableConv2D(filters: 2, kernelSize: [3, 3], depthMultiplier: 2).channelMap(inputShapes: [[4, 4, 3]]), .fresh)
        XCTAssertEqual(try Conv2DTranspose(filters: 2, kernelSize: [3, 3]).channelMap(inputShapes: [[4, 4, 3]]), .fresh)
        XCTAssertEqual(try UpSampling2D().channelMap(inputShapes: [[4, 4, 3]]), .identity)
        XCTAssertEqual(try Cropping2D(top: 1, bottom: 1, left: 1, right: 1).channelMap(inputShapes: [[4, 4, 3]]), .identity)
        XCTAssertEqual(try BatchNormalization().channelMap(inputShapes: [[4, 4, 3]]), .identity)
    }

    func testSoftmaxAcrossChannels_pinsTheGroup() throws {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [4, 4, 1]), name: "input")
        let c = b.add(Conv2D(filters: 4, kernelSize: [3, 3], padding: .same), name: "conv", inputs: [x])
        let s = b.add(Softmax(), name: "softmax", inputs: [c])
        let g = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [s])
        let d = b.add(Dense(units: 2), name: "out", inputs: [g])
        let analysis = try Surgeon.standard.analyze(b.build(outputs: [d]))
        let group = analysis.groups[analysis.outputChannels[1][0].group]
        XCTAssertEqual(group.members.map(\.layer), ["conv", "softmax", "gap", "out"])
        XCTAssertFalse(group.prunable)
    }
}
