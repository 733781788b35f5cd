import SurgeonCore
import SurgeonCoreTestSupport
import XCTest

/// The index of the node named `name`, failing the test when there is none.
func index(of name: String, in graph: Graph, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
    try XCTUnwrap(graph.index(of: name), "no node '\(name)'", file: file, line: line)
}

/// The node named `name`, failing the test when there is none.
func node(_ name: String, in graph: Graph, file: StaticString = #filePath, line: UInt = #line) throws -> Node {
    try XCTUnwrap(graph[name], "no node '\(name)'", file: file, line: line)
}

/// The group of the first output channel of `layer`.
func group(
    of layer: String, in graph: Graph, _ analysis: ChannelAnalysis,
    file: StaticString = #filePath, line: UInt = #line
) throws -> ChannelGroup {
    let i = try index(of: layer, in: graph, file: file, line: line)
    let first = try XCTUnwrap(analysis.outputChannels[i].first, "'\(layer)' has no channels", file: file, line: line)
    return analysis.groups[first.group]
}

/// Asserts that `expression` throws an error whose description is exactly `message`.
func assertThrows<T>(
    _ expression: @autoclosure () throws -> T, _ message: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertThrowsError(try expression(), file: file, line: line) { error in
        XCTAssertEqual("\(error)", message, file: file, line: line)
    }
}

/// The layer with every weight it wants for `inputShapes`, seeded uniform in [-1, 1], except
/// declared channel scales, which are in [0.5, 1.5].
func withRandomWeights(_ layer: any Layer, inputShapes: [Shape], seed: UInt64) throws -> any Layer {
    var copy = layer
    copy.weights = try layer.weightShapes(for: inputShapes).enumerated().map { k, shape in
        k == layer.channelScaleIndex
            ? Tensor.random(shape: shape, seed: seed &+ UInt64(k), range: 0.5...1.5)
            : Tensor.random(shape: shape, seed: seed &+ UInt64(k))
    }
    return copy
}
