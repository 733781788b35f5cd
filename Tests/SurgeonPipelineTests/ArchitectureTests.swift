import Layers
import SurgeonCore
import SurgeonPipeline
import SurgeonTestSupport
import XCTest

final class ArchitectureTests: XCTestCase {
    private func build(
        _ name: String, _ shape: Shape = [28, 28, 1], classes: Int = 10, width: Double = 1
    ) throws -> Graph {
        try ArchitectureRegistry.standard.architecture(named: name)
            .build(ArchitectureOptions(inputShape: shape, classes: classes, width: width))
    }

    private func count(_ graph: Graph, _ type: String) -> Int {
        graph.nodes.filter { $0.layer.kerasClassName == type }.count
    }

    func testResNet50_hasKerasParameterCount() throws {
        let graph = try build("resnet50", [224, 224, 3], classes: 1000)
        XCTAssertEqual(graph.parameterCount, 25_636_712)
        XCTAssertEqual(graph.trainableParameterCount, 25_583_592)
        XCTAssertEqual(count(graph, "Add"), 16)
        XCTAssertEqual(count(graph, "Conv2D"), 53)
        XCTAssertEqual(graph.shapes[graph.index(of: "conv5_block3_out")!], [7, 7, 2048])
        XCTAssertNoThrow(try graph.checkInvariants())
    }

    func testMobileNetV2_hasInvertedResidualBlocksWithShortcuts() throws {
        let graph = try build("mobilenetv2")
        XCTAssertNoThrow(try graph.checkInvariants())
        XCTAssertEqual(count(graph, "DepthwiseConv2D"), 8)
        XCTAssertEqual(count(graph, "Add"), 4)
        let block = graph["block_2_depthwise"]!
        XCTAssertEqual(block.inputs, ["block_2_expand_relu"])
        XCTAssertEqual(graph.shapes[graph.index(of: "block_2_expand")!], [14, 14, 144])
        XCTAssertEqual(graph.shapes[graph.index(of: "Conv_1")!], [7, 7, 128])
        XCTAssertEqual(graph.outputNames, ["predictions"])
        XCTAssertTrue(graph.producesProbabilities)
    }

    func testMobileNetV2OnLargeInputs_usesThePaperTable() throws {
        let graph = try build("mobilenetv2", [224, 224, 3], classes: 1000)
        XCTAssertEqual(count(graph, "DepthwiseConv2D"), 17)
        XCTAssertEqual(count(graph, "Add"), 10)
        XCTAssertEqual(graph.shapes[graph.index(of: "Conv_1")!], [7, 7, 1280])
        // Keras's MobileNetV2 (alpha 1.0, 224x224) has 3,538,984 parameters.
        XCTAssertEqual(graph.parameterCount, 3_538_984)
    }

    func testResAndVgg_differOnlyInShortcuts() throws {
        let res = try build("res"), vgg = try build("vgg")
        XCTAssertEqual(count(res, "Add"), 4)
        XCTAssertEqual(count(vgg, "Add"), 0)
        XCTAssertEqual(res.parameterCount, vgg.parameterCount)
        XCTAssertEqual(count(res, "Conv2D"), count(vgg, "Conv2D"))
        XCTAssertEqual(count(vgg, "DepthwiseConv2D"), 0)
        XCTAssertNoThrow(try res.checkInvariants())
    }

    func testWidthMultiplier_scalesChannelsToMultiplesOfEight() throws {
        let half = try build("vgg", width: 0.5), full = try build("vgg")
        XCTAssertEqual(half.shapes[half.index(of: "stem_conv")!], [28, 28, 16])
        XCTAssertEqual(full.shapes[full.index(of: "stem_conv")!], [28, 28, 32])
        XCTAssertLessThan(half.parameterCount, full.parameterCount / 3)
        let options = ArchitectureOptions(inputShape: [28, 28, 1], classes: 10, width: 0.35)
        XCTAssertEqual(options.channels(32), 16)
        XCTAssertEqual(options.channels(16), 8)
    }

    func testBuilders_produceTheRequestedClassesAndInputs() throws {
        for name in ["mobilenetv2", "res", "vgg"] {
            let graph = try build(name, [32, 32, 3], classes: 7)
            XCTAssertEqual(graph.shapes[graph.outputNodeIndices[0]], [7], name)
            XCTAssertEqual(graph.shapes[graph.inputNodeIndices[0]], [32, 32, 3], name)
            let y = try graph.predict([Tensor.random(shape: [2, 32, 32, 3], seed: 1)])[0]
            for row in 0..<2 {
                XCTAssertEqual(y.scalars[(row * 7)..<(row * 7 + 7)].reduce(0, +), 1, accuracy: 1e-5, name)
            }
        }
    }

    func testInvalidOptions_areRejectedWithTheReason() {
        XCTAssertThrowsError(try build("vgg", [28, 28], classes: 10)) { error in
            XCTAssertEqual(
                "\(error)", "vgg: the input shape must be height,width,channels with sizes in 1...65536, got [28, 28]")
        }
        XCTAssertThrowsError(try build("res", classes: 1)) { error in
            XCTAssertEqual("\(error)", "res: a classifier needs 2...1000000 classes, got 1")
        }
        XCTAssertThrowsError(try ArchitectureRegistry.standard.architecture(named: "alexnet")) { error in
            XCTAssertEqual("\(error)", "unknown architecture 'alexnet'; supported: mobilenetv2, res, vgg, resnet50")
        }
    }

    func testDuplicateArchitectureName_isRejected() {
        var registry = ArchitectureRegistry.standard
        XCTAssertThrowsError(try registry.register(SmallConvNetArchitecture(residual: false))) { error in
            XCTAssertEqual("\(error)", "a architecture named 'vgg' is already registered")
        }
    }
}
