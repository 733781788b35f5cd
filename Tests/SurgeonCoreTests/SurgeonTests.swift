import Foundation
import SurgeonCore
import SurgeonCoreTestSupport
import XCTest

final class SurgeonTests: XCTestCase {
    private let surgeon = TestLayers.surgeon

    /// conv1 -> bn1 -+-> add -> relu -> conv3 -> gap -> dense
    /// conv2 -> bn2 -+
    private func residual() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(Source(shape: [6, 6, 3]), name: "input")
        let c1 = b.add(Projection(units: 48), name: "conv1", inputs: [x])
        let n1 = b.add(ChannelAffine(), name: "bn1", inputs: [c1])
        let c2 = b.add(Projection(units: 48), name: "conv2", inputs: [x])
        let n2 = b.add(ChannelAffine(), name: "bn2", inputs: [c2])
        let sum = b.add(Sum(), name: "add", inputs: [n1, n2])
        let r = b.add(Rectifier(), name: "relu", inputs: [sum])
        let c3 = b.add(Projection(units: 8), name: "conv3", inputs: [r])
        let g = b.add(ChannelMean(), name: "gap", inputs: [c3])
        let d = b.add(Projection(units: 4), name: "dense", inputs: [g])
        var graph = try b.build(outputs: [d], seed: 2)
        try randomizeWeights(&graph, seed: 3)
        return graph
    }

    /// pw1 -> bn -> relu -> dw (fan-out) -> bn -> relu -> pw2 -> gap -> dense
    private func pointwiseDepthwisePointwise() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(Source(shape: [6, 6, 8]), name: "input")
        var y = b.add(Projection(units: 48, useBias: false), name: "pw1", inputs: [x])
        y = b.add(ChannelAffine(), name: "pw1_bn", inputs: [y])
        y = b.add(Rectifier(), name: "pw1_relu", inputs: [y])
        y = b.add(FanOut(multiplier: 1), name: "dw", inputs: [y])
        y = b.add(ChannelAffine(), name: "dw_bn", inputs: [y])
        y = b.add(Rectifier(), name: "dw_relu", inputs: [y])
        y = b.add(Projection(units: 16, useBias: false), name: "pw2", inputs: [y])
        let g = b.add(ChannelMean(), name: "gap", inputs: [y])
        let d = b.add(Projection(units: 3), name: "dense", inputs: [g])
        var graph = try b.build(outputs: [d], seed: 4)
        try randomizeWeights(&graph, seed: 5)
        return graph
    }

    private func kernelShape(_ layer: String, in graph: Graph) throws -> [Int] {
        try XCTUnwrap(try node(layer, in: graph).layer.weights.first).shape
    }

    // MARK: - The origin write-up's hard cases

    func testResidualSumWithDisagreeingLists_isOneGroup() throws {
        let graph = try residual()
        let analysis = try surgeon.analyze(graph)
        let shared = try group(of: "conv1", in: graph, analysis)
        XCTAssertEqual(try group(of: "conv2", in: graph, analysis), shared)
        XCTAssertEqual(shared.size, 48)
        XCTAssertTrue(shared.prunable)
        XCTAssertEqual(
            shared.members.map { "\($0.layer):\($0.role.rawValue)" },
            [
                "conv1:producer", "bn1:follower", "conv2:producer", "bn2:follower", "add:follower", "relu:follower",
                "conv3:consumer",
            ])
        // conv1's and conv2's lists from the write-up: one group, so one list (here their intersection).
        let conv1: Set = [4, 6, 9, 11, 12, 14, 16, 26, 30, 36, 38, 42, 45]
        let conv2: Set = [6, 7, 9, 11, 12, 13, 14, 16, 24, 29, 34]
        var plan = PruningPlan(template: analysis)
        plan.groups[shared.id].delete = conv1.intersection(conv2).sorted()
        XCTAssertEqual(plan.groups[shared.id].delete, [6, 9, 11, 12, 14, 16])
        let pruned = try assertPruningIsExact(
            graph, plan: plan, surgeon: surgeon, inputs: [Tensor.random(shape: [2, 6, 6, 3], seed: 1)])
        XCTAssertEqual(try kernelShape("conv1", in: pruned), [3, 42])
        XCTAssertEqual(try kernelShape("conv2", in: pruned), [3, 42])
        XCTAssertEqual(try kernelShape("conv3", in: pruned), [42, 8])
        XCTAssertEqual(try node("bn2", in: pruned).layer.weights.map(\.shape), Array(repeating: [42], count: 3))
    }

    func testPointwiseFanOutPointwiseBlock_isOneGroup() throws {
        let graph = try pointwiseDepthwisePointwise()
        let analysis = try surgeon.analyze(graph)
        let block = try group(of: "pw1", in: graph, analysis)
        XCTAssertEqual(try group(of: "dw", in: graph, analysis), block)
        XCTAssertEqual(block.members.map(\.layer), ["pw1", "pw1_bn", "pw1_relu", "dw", "dw_bn", "dw_relu", "pw2"])
        XCTAssertEqual(block.members.last?.role, .consumer)
        // The depthwise layer's list from the write-up decides for all three.
        var plan = PruningPlan(template: analysis)
        plan.groups[block.id].delete = [1, 5, 8, 15, 16, 17, 19, 20, 21, 24, 32, 34, 45, 47]
        let pruned = try assertPruningIsExact(
            graph, plan: plan, surgeon: surgeon, inputs: [Tensor.random(shape: [2, 6, 6, 8], seed: 1)])
        XCTAssertEqual(try kernelShape("pw1", in: pruned), [8, 34])
        XCTAssertEqual(try kernelShape("dw", in: pruned), [34, 1])
        XCTAssertEqual(try kernelShape("pw2", in: pruned), [34, 16])
    }

    func testFanOutWithMultiplier_deletesWholeBlocksOfOutputs() throws {
        var b = GraphBuilder()
        let x = b.add(Source(shape: [3, 3, 2]), name: "input")
        let p = b.add(Projection(units: 4), name: "pw", inputs: [x])
        let f = b.add(FanOut(multiplier: 3), name: "fan", inputs: [p])
        let c = b.add(Projection(units: 2), name: "next", inputs: [f])
        let graph = try b.build(outputs: [c], seed: 1)
        let analysis = try surgeon.analyze(graph)
        let block = try group(of: "pw", in: graph, analysis)
        XCTAssertEqual(block.members.first { $0.layer == "fan" }?.channels, 12)
        var plan = PruningPlan(template: analysis)
        plan.groups[block.id].delete = [1, 2]
        let pruned = try assertPruningIsExact(
            graph, plan: plan, surgeon: surgeon, inputs: [Tensor.random(shape: [2, 3, 3, 2], seed: 2)])
        XCTAssertEqual(try kernelShape("fan", in: pruned), [2, 3])
        XCTAssertEqual(try kernelShape("next", in: pruned), [6, 2])
    }

    func testLogitsAndImageChannels_areNotPrunable() throws {
        let graph = try residual()
        let analysis = try surgeon.analyze(graph)
        XCTAssertFalse(try group(of: "dense", in: graph, analysis).prunable)
        XCTAssertFalse(try group(of: "input", in: graph, analysis).prunable)
        XCTAssertEqual(analysis.prunableGroups.count, 2)
    }

    func testJoin_keepsEachProducerItsOwnGroupAtItsOffset() throws {
        var b = GraphBuilder()
        let x = b.add(Source(shape: [5, 5, 2]), name: "input")
        let l = b.add(Projection(units: 3), name: "left", inputs: [x])
        let r = b.add(Projection(units: 5), name: "right", inputs: [x])
        let cat = b.add(Join(), name: "cat", inputs: [l, r])
        let f = b.add(Flat(), name: "flat", inputs: [cat])
        let d = b.add(Projection(units: 2), name: "dense", inputs: [f])
        let graph = try b.build(outputs: [d])
        let analysis = try surgeon.analyze(graph)
        let left = try group(of: "left", in: graph, analysis), right = try group(of: "right", in: graph, analysis)
        XCTAssertNotEqual(left.id, right.id)
        XCTAssertEqual(
            left.members.first { $0.layer == "cat" },
            .init(layer: "cat", type: "TestJoin", role: .follower, channels: 3, of: 8))
        XCTAssertEqual(right.members.first { $0.layer == "flat" }?.channels, 125)
        XCTAssertEqual(right.members.first { $0.layer == "dense" }?.role, .consumer)
        var plan = PruningPlan(template: analysis)
        plan.groups[right.id].delete = [0, 3]
        let pruned = try assertPruningIsExact(
            graph, plan: plan, surgeon: surgeon, inputs: [Tensor.random(shape: [2, 5, 5, 2], seed: 3)])
        XCTAssertEqual(try kernelShape("dense", in: pruned), [150, 2])
    }

    // MARK: - Plans

    func testPlan_roundTripsThroughReadableJSON() throws {
        let analysis = try surgeon.analyze(residual())
        var plan = PruningPlan(template: analysis)
        plan.groups[1].delete = [2, 5]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = String(decoding: try encoder.encode(plan), as: UTF8.self)
        XCTAssertTrue(json.contains("\"surgeon_plan\" : 1"), json)
        XCTAssertTrue(json.contains("\"role\" : \"producer\""), json)
        XCTAssertTrue(json.contains("\"type\" : \"TestProjection\""), json)
        XCTAssertEqual(try JSONDecoder().decode(PruningPlan.self, from: Data(json.utf8)), plan)
    }

    func testBadPlans_areRejectedWithClearErrors() throws {
        let graph = try residual()
        let analysis = try surgeon.analyze(graph)
        let shared = try group(of: "conv1", in: graph, analysis).id
        let logits = try group(of: "dense", in: graph, analysis).id
        func refuse(_ edit: (inout PruningPlan) -> Void, _ message: String, line: UInt = #line) {
            var plan = PruningPlan(template: analysis)
            edit(&plan)
            assertThrows(try surgeon.apply(plan, to: graph), message, line: line)
        }
        refuse(
            { $0.groups[shared].delete = Array(0..<48) },
            "the plan deletes all 48 channels of group \(shared) (conv1, bn1, conv2, bn2, add, relu, conv3); keep at "
                + "least one"
        )
        refuse(
            { $0.groups[shared].delete = [3, 48] },
            "group \(shared) has 48 channels (0...47), but the plan deletes channel 48")
        refuse({ $0.groups[shared].delete = [3, 3] }, "group \(shared): the plan lists channel 3 twice")
        refuse(
            { $0.groups[logits].delete = [0] },
            "group \(logits) cannot be pruned: its channels reach a graph input or output (dense)")
        refuse(
            { $0.groups[shared].size = 64 },
            "the plan does not match the model: group \(shared) has 48 channels in the model, the plan says 64")
        refuse(
            { $0.groups[shared].members[0].layer = "conv_one" },
            "the plan does not match the model: group \(shared) has members [\"conv1\", \"bn1\", \"conv2\", \"bn2\", "
                + "\"add\", \"relu\", \"conv3\"] in the model, the plan lists [\"conv_one\", \"bn1\", \"conv2\", "
                + "\"bn2\", \"add\", \"relu\", \"conv3\"]"
        )
        refuse(
            {
                $0.groups.append($0.groups[0]); $0.groups[$0.groups.count - 1].id = 99
            },
            "the plan names group 99, but the model has groups 0...\(analysis.groups.count - 1)")
    }

    func testApply_neverModifiesTheInputGraph() throws {
        let graph = try residual()
        let before = graph.nodes.map(\.layer.weights)
        let analysis = try surgeon.analyze(graph)
        var plan = PruningPlan(template: analysis)
        plan.groups[try group(of: "conv1", in: graph, analysis).id].delete = [0, 1, 2]
        _ = try surgeon.apply(plan, to: graph)
        XCTAssertEqual(graph.nodes.map(\.layer.weights), before)
    }

    func testSummary_reportsChannelsParamsAndMACsBeforeAndAfter() throws {
        let graph = try residual()
        let analysis = try surgeon.analyze(graph)
        var plan = PruningPlan(template: analysis)
        plan.groups[try group(of: "conv1", in: graph, analysis).id].delete = Array(0..<24)
        let summary = try surgeon.summary(of: plan, on: graph)
        let conv1 = try XCTUnwrap(summary.layers.first { $0.name == "conv1" })
        XCTAssertEqual(conv1.type, "TestProjection")
        XCTAssertEqual(conv1.channelsBefore, 48)
        XCTAssertEqual(conv1.channelsAfter, 24)
        XCTAssertEqual(conv1.paramsAfter, 3 * 24 + 24)
        XCTAssertEqual(summary.paramsBefore, graph.parameterCount)
        XCTAssertLessThan(summary.macsAfter, summary.macsBefore)
    }
}
