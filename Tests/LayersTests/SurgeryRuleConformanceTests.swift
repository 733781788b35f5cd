import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// Every registered surgery rule passes the generic checker (`checkSurgeryRule`) on every
/// example its type declares.
final class SurgeryRuleConformanceTests: XCTestCase {
    /// The examples of `registry`'s rules (those of `names`, or all) that fail
    /// `checkSurgeryRule`, with their problems.
    private func failingExamples(
        _ registry: LayerRegistry, among names: Set<String>? = nil
    ) throws -> [String: [String]] {
        var failures: [String: [String]] = [:]
        for name in registry.surgeryRuleNames where names?.contains(name) ?? true {
            for example in registry.type(named: name)?.examples ?? [] {
                let problems = try surgeryRuleProblems(example, surgeon: Surgeon(registry: registry))
                if !problems.isEmpty { failures[example.name] = problems }
            }
        }
        return failures
    }

    func testEveryBuiltinLayerType_hasARegisteredRule() {
        XCTAssertEqual(LayerRegistry.standard.surgeryRuleNames, LayerRegistry.standard.names)
    }

    func testEveryRegisteredRule_passesTheGenericCheckerOnEveryExample() throws {
        XCTAssertEqual(try failingExamples(.standard), [:])
        let examples = LayerRegistry.standard.surgeryRuleNames.flatMap {
            LayerRegistry.standard.type(named: $0)?.examples ?? []
        }
        XCTAssertGreaterThanOrEqual(examples.count, 100)
    }

    func testSurgeryChecker_rejectsARuleThatKeepsTheWrongChannels() throws {
        var registry = LayerRegistry.standard
        try registry.register(MisprunedScale.self)
        let failures = try failingExamples(registry, among: ["MisprunedScale", "Conv2D"])
        XCTAssertEqual(Array(failures.keys), ["MisprunedScale"])
        let problems = failures["MisprunedScale"] ?? []
        XCTAssertTrue(
            problems.contains { $0.contains("MisprunedScale, seed ") && $0.contains("differ by more than") },
            "\(problems)")
    }

    func testRules_declareTheirChannelMaps() throws {
        XCTAssertEqual(try Conv2D(filters: 2, kernelSize: [1, 1]).channelMap(inputShapes: [[4, 4, 3]]), .fresh)
        XCTAssertEqual(
            try DepthwiseConv2D(kernelSize: [3, 3], depthMultiplier: 2).channelMap(inputShapes: [[4, 4, 3]]),
            .expanded(multiplier: 2))
        XCTAssertEqual(try Add().channelMap(inputShapes: [[4, 4, 3], [4, 4, 3]]), .tied)
        XCTAssertEqual(try Multiply().channelMap(inputShapes: [[4, 4, 3], [1, 1, 3]]), .tied)
        XCTAssertEqual(try Reshape(targetShape: [1, 1, 3]).channelMap(inputShapes: [[3]]), .identity)
        XCTAssertEqual(try PReLU().channelMap(inputShapes: [[4, 4, 3]]), .identity)
        XCTAssertEqual(try Normalization().channelMap(inputShapes: [[4, 4, 3]]), .identity)
        XCTAssertEqual(try Concatenate().channelMap(inputShapes: [[4, 4, 3], [4, 4, 2]]), .concatenated)
        XCTAssertEqual(try Flatten().channelMap(inputShapes: [[4, 4, 3]]), .flattened)
        XCTAssertEqual(
            try SeparableConv2D(filters: 2, kernelSize: [3, 3], depthMultiplier: 2).channelMap(inputShapes: [[4, 4, 3]]
            ), .fresh)
        XCTAssertEqual(
            try Conv2DTranspose(filters: 2, kernelSize: [3, 3]).channelMap(inputShapes: [[4, 4, 3]]), .fresh)
        XCTAssertEqual(try UpSampling2D().channelMap(inputShapes: [[4, 4, 3]]), .identity)
        XCTAssertEqual(
            try Cropping2D(top: 1, bottom: 1, left: 1, right: 1).channelMap(inputShapes: [[4, 4, 3]]), .identity)
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

/// A learned per-channel scale whose rule keeps the first scales instead of the surviving
/// channels' (a deliberately wrong rule for the checker to reject).
private struct MisprunedScale: PerChannelScaleLayer {
    static let kerasClassName = "MisprunedScale"
    static var examples: [LayerExample] { [LayerExample("MisprunedScale") { MisprunedScale() }] }
    var weights: [Tensor] = []
    init() {}
    func pruned(keptInputs: [[Int]], keptOutputs: [Int], inputShapes: [Shape]) throws -> any Layer {
        var layer = self
        layer.weights = [weights[0].selecting(Array(0..<keptOutputs.count), alongAxis: 0)]
        return layer
    }
}
