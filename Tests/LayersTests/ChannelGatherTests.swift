import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class ChannelGatherTests: XCTestCase {
    /// The shuffle of ShuffleNet, worked the way torch does it on one pixel's channels: view as
    /// `[groups, C / groups]`, transpose, read out in order.
    func testShuffle_isTheTransposeOfTheGroupMatrix() throws {
        for (channels, groups) in [(6, 2), (12, 3), (8, 4), (24, 2)] {
            let perGroup = channels / groups
            var expected: [Int] = []
            for b in 0..<perGroup { for a in 0..<groups { expected.append(a * perGroup + b) } }
            XCTAssertEqual(try ChannelGather.shuffle(channels: channels, groups: groups).indices, expected)
            XCTAssertEqual(ChannelShuffle.groups(of: expected), groups)
        }
        XCTAssertNil(ChannelShuffle.groups(of: [0, 1, 2, 3]))
        XCTAssertNil(ChannelShuffle.groups(of: [0, 3, 1, 4, 5, 2]))
        XCTAssertThrowsError(try ChannelGather.shuffle(channels: 6, groups: 4))
    }

    func testForward_copiesTheListedChannels_andBackwardAddsTheirGradientsBack() throws {
        let layer = try ChannelGather(indices: [2, 0, 2])
        let x = batch(2, [2, 3, 3], seed: 1)
        let y = try evaluate(layer, x)
        XCTAssertEqual(y.shape, [2, 2, 3, 3])
        for row in 0..<(2 * 2 * 3) {
            XCTAssertEqual(Array(y.scalars[(row * 3)..<(row * 3 + 3)]), [2, 0, 2].map { x.scalars[row * 3 + $0] })
        }
        let gy = batch(2, [2, 3, 3], seed: 2)
        let dx = try layer.backward(
            gy, inputs: [x], output: LayerOutput(y), context: ForwardContext(training: true)
        ).inputs[0]
        for row in 0..<(2 * 2 * 3) {
            let g = Array(gy.scalars[(row * 3)..<(row * 3 + 3)])
            XCTAssertEqual(Array(dx.scalars[(row * 3)..<(row * 3 + 3)]), [g[1], 0, g[0] + g[2]])
        }
    }

    func testConfig_isValidatedAgainstTheInput() throws {
        assertThrows(try ChannelGather(indices: []), containing: ["indices", "non-empty"])
        assertThrows(try ChannelGather(indices: [1, -1]), containing: ["indices"])
        assertThrows(
            try ChannelGather(indices: [0, 5]).outputShape(for: [[2, 2, 4]]),
            containing: ["channel 5", "4 channels", "0..<4"])
        let round = try make(ChannelGather.self, ["indices": [3, 1]])
        XCTAssertEqual(round.indices, [3, 1])
        XCTAssertFalse(ChannelGather.hasKerasClass)
    }

    /// input -> Conv(6) -> [split 0..<2, split 2..<6] -> two convs -> Add-free heads. A plan that
    /// deletes the whole first split is refused by name; the planner's sparing keeps one.
    func testAPlanEmptyingASplit_isRefused_andSparingKeepsOneChannel() throws {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [4, 4, 3]), name: "input")
        let c = b.add(Conv2D(filters: 6, kernelSize: [1, 1]), name: "conv", inputs: [x])
        let first = b.add(try ChannelGather.range(0..<2), name: "first", inputs: [c])
        let rest = b.add(try ChannelGather.range(2..<6), name: "rest", inputs: [c])
        let p1 = b.add(GlobalAveragePooling2D(), name: "pool1", inputs: [first])
        let p2 = b.add(GlobalAveragePooling2D(), name: "pool2", inputs: [rest])
        let m = b.add(Concatenate(), name: "concat", inputs: [p1, p2])
        let head = b.add(Dense(units: 2), name: "head", inputs: [m])
        let graph = try b.build(outputs: [head], seed: 3)
        let analysis = try Surgeon.standard.analyze(graph)
        let group = try XCTUnwrap(
            analysis.groups.first { $0.members.contains { $0.layer == "conv" && $0.role == .producer } })
        XCTAssertEqual(group.size, 6)
        var plan = PruningPlan(template: analysis)
        plan.groups[group.id].delete = [0, 1, 4]
        assertThrows(
            try Surgeon.standard.apply(plan, to: graph),
            containing: ["deletes all 2 output channels of layer 'first' (ChannelGather)", "keep at least one"])
        let spared = analysis.sparingEveryTensor(plan) { _, index in index == 0 ? 1 : 0 }
        XCTAssertEqual(spared.groups[group.id].delete, [1, 4])
        let pruned = try Surgeon.standard.apply(spared, to: graph)
        XCTAssertEqual(pruned.shapes[try XCTUnwrap(pruned.index(of: "first"))], [4, 4, 1])
        XCTAssertEqual(
            (pruned.nodes[try XCTUnwrap(pruned.index(of: "rest"))].layer as? ChannelGather)?.indices, [1, 2, 3])
    }
}
