import Layers
import SurgeonCore

/// input -> conv (8) -> bn -> gconv (8 filters, 4 groups) -> bn2 -> relu -> conv3 (1x1, 6) ->
/// gap -> dense: a grouped convolution whose input and output groups are both split into 4
/// blocks of 2, for the surgery and planner tests.
public func groupedConvGraph(seed: UInt64 = 1) throws -> Graph {
    var b = GraphBuilder()
    let x = b.add(InputLayer(shape: [6, 6, 3]), name: "input")
    var y = b.add(Conv2D(filters: 8, kernelSize: [3, 3], padding: .same), name: "conv", inputs: [x])
    y = b.add(BatchNormalization(), name: "bn", inputs: [y])
    y = b.add(Conv2D(filters: 8, kernelSize: [3, 3], padding: .same, groups: 4), name: "gconv", inputs: [y])
    y = b.add(BatchNormalization(), name: "bn2", inputs: [y])
    y = b.add(ReLU(), name: "relu", inputs: [y])
    y = b.add(Conv2D(filters: 6, kernelSize: [1, 1]), name: "conv3", inputs: [y])
    y = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [y])
    let d = b.add(Dense(units: 3), name: "dense", inputs: [y])
    var graph = try b.build(outputs: [d], seed: seed)
    try randomizeWeights(&graph, seed: seed &+ 1)
    return graph
}

/// For each block constraint of `analysis`, the number of channels `plan` deletes from each
/// block (all equal in a valid plan).
public func deletionsPerBlock(_ plan: PruningPlan, _ analysis: ChannelAnalysis) -> [[Int]] {
    let deleted = plan.groups.reduce(into: [Int: Set<Int>]()) { $0[$1.id] = Set($1.delete) }
    return analysis.blockConstraints.map { constraint in
        constraint.blocks.map { block in block.filter { deleted[$0.group]?.contains($0.index) ?? false }.count }
    }
}
