import Foundation
import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class SurgeonTests: XCTestCase {
    private let surgeon = Surgeon.standard

    /// conv1 -> bn1 -+-> add -> relu -> conv3 -> gap -> dense
    /// conv2 -> bn2 -+
    private func residual() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [6, 6, 3]), name: "input")
        let c1 = b.add(Conv2D(filters: 48, kernelSize: [3, 3], padding: .same), name: "conv1", inputs: [x])
        let n1 = b.add(BatchNormalization(), name: "bn1", inputs: [c1])
        let c2 = b.add(Conv2D(filters: 48, kernelSize: [1, 1]), name: "conv2", inputs: [x])
        let n2 = b.add(BatchNormalization(), name: "bn2", inputs: [c2])
        let sum = b.add(Add(), name: "add", inputs: [n1, n2])
        let r = b.add(ReLU(), name: "relu", inputs: [sum])
        let c3 = b.add(Conv2D(filters: 8, kernelSize: [3, 3], padding: .same), name: "conv3", inputs: [r])
        let g = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [c3])
        let d = b.add(Dense(units: 4), name: "dense", inputs: [g])
        var graph = try b.build(outputs: [d], seed: 2)
        try randomizeWeights(&graph, seed: 3)
        return graph
    }

    /// pw1 (1x1) -> bn -> relu -> dw (3x3 depthwise) -> bn -> relu -> pw2 (1x1)
    private func pointwiseDepthwisePointwise() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [6, 6, 8]), name: "input")
        var y = b.add(Conv2D(filters: 48, kernelSize: [1, 1], useBias: false), name: "pw1", inputs: [x])
        y = b.add(BatchNormalization(), name: "pw1_bn", inputs: [y])
        y = b.add(ReLU(maxValue: 6), name: "pw1_relu", inputs: [y])
        y = b.add(DepthwiseConv2D(kernelSize: [3, 3], padding: .same, useBias: false), name: "dw", inputs: [y])
        y = b.add(BatchNormalization(), name: "dw_bn", inputs: [y])
        y = b.add(ReLU(maxValue: 6), name: "dw_relu", inputs: [y])
        y = b.add(Conv2D(filters: 16, kernelSize: [1, 1], useBias: false), name: "pw2", inputs: [y])
        let g = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [y])
        let d = b.add(Dense(units: 3), name: "dense", inputs: [g])
        var graph = try b.build(outputs: [d], seed: 4)
        try randomizeWeights(&graph, seed: 5)
        return graph
    }

    private func group(of layer: String, in graph: Graph, _ analysis: ChannelAnalysis) -> ChannelGroup {
        analysis.groups[analysis.outputChannels[graph.index(of: layer)!][0].group]
    }

    // MARK: - The origin write-up's hard cases

    func testResidualAddWithDisagreeingLists_isOneGroup() throws {
        let graph = try residual()
        let analysis = try surgeon.analyze(graph)
        let shared = group(of: "conv1", in: graph, analysis)
        XCTAssertEqual(group(of: "conv2", in: graph, analysis), shared)
        XCTAssertEqual(shared.size, 48)
        XCTAssertTrue(shared.prunable)
        XCTAssertEqual(shared.members.map { "\($0.layer):\($0.role.rawValue)" },
                       ["conv1:producer", "bn1:follower", "conv2:producer", "bn2:follower", "add:follower", "relu:follower",
                        "conv3:consumer"])
        // conv1's and conv2's lists from the write-up: one group, so one list (here their intersection).
        let conv1: Set = [4, 6, 9, 11, 12, 14, 16, 26, 30, 36, 38, 42, 45]
        let conv2: Set = [6, 7, 9, 11, 12, 13, 14, 16, 24, 29, 34]
        var plan = PruningPlan(template: analysis)
        plan.groups[shared.id].delete = conv1.intersection(conv2).sorted()
        XCTAssertEqual(plan.groups[shared.id].delete, [6, 9, 11, 12, 14, 16])
        let pruned = try assertPruningIsExact(graph, plan: plan, surgeon: surgeon, inputs: [Tensor.random(shape: [2, 6, 6, 3], seed: 1)])
        XCTAssertEqual(pruned["conv1"]!.layer.weights[0].shape, [3, 3, 3, 42])
        XCTAssertEqual(pruned["conv2"]!.layer.weights[0].shape, [1, 1, 3, 42])
        XCTAssertEqual(pruned["conv3"]!.layer.weights[0].shape, [3, 3, 42, 8])
        XCTAssertEqual(pruned["bn2"]!.layer.weights.map(\.shape), Array(repeating: [42], count: 4))
    }

    func testPointwiseDepthwisePointwiseBlock_isOneGroup() throws {
        let graph = try pointwiseDepthwisePointwise()
        let analysis = try surgeon.analyze(graph)
        let block = group(of: "pw1", in: graph, analysis)
        XCTAssertEqual(group(of: "dw", in: graph, analysis), block)
        XCTAssertEqual(block.members.map(\.layer), ["pw1", "pw1_bn", "pw1_relu", "dw", "dw_bn", "dw_relu", "pw2"])
        XCTAssertEqual(block.members.last?.role, .consumer)
        // The depthwise layer's list from the write-up decides for all three.
        var plan = PruningPlan(template: analysis)
        plan.groups[block.id].delete = [1, 5, 8, 15, 16, 17, 19, 20, 21, 24, 32, 34, 45, 47]
        let pruned = try assertPruningIsExact(graph, plan: plan, surgeon: surgeon, inputs: [Tensor.random(shape: [2, 6, 6, 8], seed: 1)])
        XCTAssertEqual(pruned["pw1"]!.layer.weights[0].shape, [1, 1, 8, 34])
        XCTAssertEqual(pruned["dw"]!.layer.weights[0].shape, [3, 3, 34, 1])
        XCTAssertEqual(pruned["pw2"]!.layer.weights[0].shape, [1, 1, 34, 16])
    }

    func testLogitsAndImageChannels_areNotPrunable() throws {
        let graph = try residual()
        let analysis = try surgeon.analyze(graph)
        XCTAssertFalse(group(of: "dense", in: graph, analysis).prunable)
        XCTAssertFalse(group(of: "input", in: graph, analysis).prunable)
        XCTAssertEqual(analysis.prunableGroups.count, 2)
    }

    func testConcatenate_keepsEachProducerItsOwnGroupAtItsOffset() throws {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [5, 5, 2]), name: "input")
        let l = b.add(Conv2D(filters: 3, kernelSize: [1, 1]), name: "left", inputs: [x])
        let r = b.add(Conv2D(filters: 5, kernelSize: [1, 1]), name: "right", inputs: [x])
        let cat = b.add(Concatenate(), name: "cat", inputs: [l, r])
        let f = b.add(Flatten(), name: "flat", inputs: [cat])
        let d = b.add(Dense(units: 2), name: "dense", inputs: [f])
        let graph = try b.build(outputs: [d])
        let analysis = try surgeon.analyze(graph)
        let left = group(of: "left", in: graph, analysis), right = group(of: "right", in: graph, analysis)
        XCTAssertNotEqual(left.id, right.id)
        XCTAssertEqual(left.members.first { $0.layer == "cat" }, .init(layer: "cat", type: "Concatenate", role: .follower, channels: 3, of: 8))
        XCTAssertEqual(right.members.first { $0.layer == "flat" }?.channels, 125)
        XCTAssertEqual(right.members.first { $0.layer == "dense" }?.role, .consumer)
        var plan = PruningPlan(template: analysis)
        plan.groups[right.id].delete = [0, 3]
        let pruned = try assertPruningIsExact(graph, plan: plan, surgeon: surgeon, inputs: [Tensor.random(shape: [2, 5, 5, 2], seed: 3)])
        XCTAssertEqual(pruned["dense"]!.layer.weights[0].shape, [150, 2])
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
        XCTAssertEqual(try JSONDecoder().decode(PruningPlan.self, from: Data(json.utf8)), plan)
    }

    func testBadPlans_areRejectedWithClearErrors() throws {
        let graph = try residual()
        let analysis = try surgeon.analyze(graph)
        let shared = group(of: "conv1", in: graph, analysis).id
        let logits = group(of: "dense", in: graph, analysis).id
        func refuse(_ edit: (inout PruningPlan) -> Void, _ message: String, line: UInt = #line) {
            var plan = PruningPlan(template: analysis)
            edit(&plan)
            XCTAssertThrowsError(try surgeon.apply(plan, to: graph), line: line) { error in
                XCTAssertEqual("\(error)", message, line: line)
            }
        }
        refuse({ $0.groups[shared].delete = Array(0..<48) },
               "the plan deletes all 48 channels of group \(shared) (conv1, bn1, conv2, bn2, add, relu, conv3); keep at least one")
        refuse({ $0.groups[shared].delete = [3, 48] }, "group \(shared) has 48 channels (0...47), but the plan deletes channel 48")
        refuse({ $0.groups[shared].delete = [3, 3] }, "group \(shared): the plan lists channel 3 twice")
        refuse({ $0.groups[logits].delete = [0] },
               "group \(logits) cannot be pruned: its channels reach a graph input or output (dense)")
        refuse({ $0.groups[shared].size = 64 }, "the plan does not match the model: group \(shared) has 48 channels in the model, the plan says 64")
        refuse({ $0.groups[shared].members[0].layer = "conv_one" },
               "the plan does not match the model: group \(shared) has members [\"conv1\", \"bn1\", \"conv2\", \"bn2\", \"add\", \"relu\", \"conv3\"] in the model, the plan lists [\"conv_one\", \"bn1\", \"conv2\", \"bn2\", \"add\", \"relu\", \"conv3\"]")
        refuse({ $0.groups.append($0.groups[0]); $0.groups[$0.groups.count - 1].id = 99 },
               "the plan names group 99, but the model has groups 0...\(analysis.groups.count - 1)")
    }

    func testApply_neverModifiesTheInputGraph() throws {
        let graph = try residual()
        let before = graph.nodes.map(\.layer.weights)
        let analysis = try surgeon.analyze(graph)
        var plan = PruningPlan(template: analysis)
        plan.groups[group(of: "conv1", in: graph, analysis).id].delete = [0, 1, 2]
        _ = try surgeon.apply(plan, to: graph)
        XCTAssertEqual(graph.nodes.map(\.layer.weights), before)
    }

    func testSummary_reportsChannelsParamsAndMACsBeforeAndAfter() throws {
        let graph = try residual()
        let analysis = try surgeon.analyze(graph)
        var plan = PruningPlan(template: analysis)
        plan.groups[group(of: "conv1", in: graph, analysis).id].delete = Array(0..<24)
        let summary = try surgeon.summary(of: plan, on: graph)
        let conv1 = summary.layers.first { $0.name == "conv1" }!
        XCTAssertEqual(conv1.channelsBefore, 48)
        XCTAssertEqual(conv1.channelsAfter, 24)
        XCTAssertEqual(conv1.paramsAfter, 3 * 3 * 3 * 24 + 24)
        XCTAssertEqual(summary.paramsBefore, graph.parameterCount)
        XCTAssertLessThan(summary.macsAfter, summary.macsBefore)
    }

    // MARK: - The property, on random graphs

    func testRandomGraphs_prunedEqualsMaskedOriginal() throws {
        var checked = 0, prunedChannels = 0
        for seed in UInt64(0)..<500 {
            var graph = try RandomGraphs.make(seed: seed)
            try graph.checkInvariants()
            try randomizeWeights(&graph, seed: seed)
            let analysis = try surgeon.analyze(graph)
            var random = SeededRandom(seed: seed ^ 0xABCD)
            let plan = randomPlan(analysis, random: &random)
            let input = Tensor.random(shape: [2] + graph.shapes[graph.inputNodeIndices[0]], seed: seed)
            try assertPruningIsExact(graph, plan: plan, surgeon: surgeon, inputs: [input], tolerance: 1e-4, "random graph seed \(seed)")
            checked += 1
            prunedChannels += plan.deletedCount
        }
        XCTAssertEqual(checked, 500)
        XCTAssertGreaterThan(prunedChannels, 1000)
    }

    func testRandomGraphs_coverEveryStructure() throws {
        var types = Set<String>()
        var multiOutput = 0, multiplier = 0
        for seed in UInt64(0)..<500 {
            let graph = try RandomGraphs.make(seed: seed)
            types.formUnion(graph.nodes.map(\.layer.kerasClassName))
            if graph.outputNames.count > 1 { multiOutput += 1 }
            if graph.nodes.contains(where: { ($0.layer as? DepthwiseConv2D)?.depthMultiplier ?? 1 > 1 }) { multiplier += 1 }
        }
        for required in ["Add", "Concatenate", "Multiply", "DepthwiseConv2D", "Flatten", "Dense", "BatchNormalization", "ZeroPadding2D",
                         "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
                         "SeparableConv2D", "Conv2DTranspose", "Cropping2D", "UpSampling2D"] {
            XCTAssertTrue(types.contains(required), "no random graph has a \(required)")
        }
        XCTAssertGreaterThan(multiOutput, 50)
        XCTAssertGreaterThan(multiplier, 50)
    }
}
