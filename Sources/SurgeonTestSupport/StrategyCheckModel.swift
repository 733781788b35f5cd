import Layers
import SurgeonCore
import XCTest

/// A model the strategy checkers run on, with a label for their messages.
public struct StrategyCheckModel: Sendable {
    public var label: String
    public var graph: Graph

    public init(_ label: String, _ graph: Graph) {
        self.label = label
        self.graph = graph
    }

    /// Seeded random graphs (`RandomGraphs`: residual Adds, Concatenates, depthwise and
    /// separable convolutions, Flatten -> Dense, several outputs, ...) with random weights.
    public static func randomGraphs(seeds: Range<UInt64> = 0..<6) throws -> [StrategyCheckModel] {
        try seeds.map { seed in
            var graph = try RandomGraphs.make(seed: seed)
            try randomizeWeights(&graph, seed: seed &+ 100)
            return StrategyCheckModel("random graph \(seed)", graph)
        }
    }
}

/// What a strategy checker found: how much it compared, and every problem, each naming the
/// model (and group, member or weight) it was found on. `passed` when there is none.
public struct StrategyCheckReport: Sendable, CustomStringConvertible {
    /// Models scored (criteria) or derivatives compared (regularisers).
    public var checked = 0
    public var problems: [String] = []

    public init() {}

    public var passed: Bool { problems.isEmpty }

    public var description: String {
        passed ? "passed (\(checked) checked)" : "\(problems.count) problem(s):\n" + problems.joined(separator: "\n")
    }
}

extension StrategyCheckReport {
    /// Records a problem and, with `reportFailures`, fails the calling test at `file`/`line`.
    mutating func fail(_ message: String, _ reportFailures: Bool, _ file: StaticString, _ line: UInt) {
        problems.append(message)
        if reportFailures { XCTFail(message, file: file, line: line) }
    }
}

/// Uniform images in [0, 1] for the graph's (first) input and labels cycling through the
/// classes of its first output.
public func randomData(for graph: Graph, samples: Int, seed: UInt64) throws -> LabeledData {
    let input = graph.shapes[graph.inputNodeIndices.first ?? 0]
    let classes = max(1, graph.shapes[graph.outputNodeIndices.first ?? 0].last ?? 1)
    return try LabeledData(
        images: Tensor.random(shape: [samples] + input, seed: seed, range: 0...1),
        labels: (0..<samples).map { $0 % classes })
}
