import Synchronization
import XCTest

@testable import SurgeonCore

/// `Graph.predict` runs the prepared passes of a graph that only predicts, prepares them once
/// per input shape and setting, and never runs a pass prepared from weights it no longer has.
final class InferenceProgramsTests: XCTestCase {
    let counter = PreparationCounter()

    func graph(scale: Float) throws -> Graph {
        var layer = Scale(counter: counter)
        layer.weights = [try Tensor(shape: [1], scalars: [scale])]
        var graph = try Graph(
            nodes: [Node("input", Source(shape: [3])), Node("scale", layer, inputs: ["input"])], outputs: ["scale"])
        graph.kernelLayouts = KernelLayoutCache()
        return graph
    }

    static func input(_ batch: Int) -> Tensor {
        Tensor(shape: [batch, 3]) { p in
            for i in p.indices { p[i] = Float(i) }
        }
    }

    func testPreparedPassesAreMadeOncePerInputShape_andRun() throws {
        let graph = try graph(scale: 2)
        for _ in 0..<3 {
            XCTAssertEqual(try graph.predict([Self.input(2)])[0].scalars, Self.input(2).scalars.map { $0 * 2 })
        }
        XCTAssertEqual(counter.preparations, 1)
        XCTAssertEqual(counter.preparedRuns, 3)
        XCTAssertEqual(counter.forwards, 0)
        _ = try graph.predict([Self.input(5)])
        _ = try graph.predict([Self.input(2)])
        XCTAssertEqual(counter.preparations, 2, "one per batch size")
        let saved = Compute.threads
        defer { Compute.setThreads(saved) }
        Compute.setThreads(saved == 1 ? 2 : 1)
        _ = try graph.predict([Self.input(2)])
        XCTAssertEqual(counter.preparations, 3, "and per thread setting")
    }

    func testChangedWeightsAreNeverRunByAnOldPreparation() throws {
        var graph = try graph(scale: 2)
        XCTAssertEqual(try graph.predict([Self.input(1)])[0].scalars, [0, 2, 4])
        let unchanged = graph
        try graph.setWeights([try Tensor(shape: [1], scalars: [-1])], ofNode: 1)
        XCTAssertEqual(try graph.predict([Self.input(1)])[0].scalars, [0, -1, -2])
        XCTAssertEqual(try unchanged.predict([Self.input(1)])[0].scalars, [0, 2, 4], "a copy keeps its own weights")
        XCTAssertEqual(counter.preparations, 2, "the changed graph prepared again, the copy did not")
    }

    func testAGraphThatIsNotOnlyPredictingPreparesNothing() throws {
        var graph = try graph(scale: 3)
        graph.kernelLayouts = nil
        XCTAssertEqual(try graph.predict([Self.input(1)])[0].scalars, [0, 3, 6])
        XCTAssertEqual(counter.preparations, 0)
        XCTAssertEqual(counter.forwards, 1)
    }

    /// On one thread a batch whose activations outgrow `Graph.inferenceChunkBytes` runs a few
    /// samples at a time (here one: 2 x 100,000 floats per sample), the outputs joined in
    /// order; on two threads, or when a caller observes every node's whole-batch output, the
    /// batch runs at once.
    func testALargeBatchRunsInChunksOnOneThread() throws {
        var layer = Scale(counter: counter)
        layer.weights = [try Tensor(shape: [1], scalars: [2])]
        var graph = try Graph(
            nodes: [Node("input", Source(shape: [100_000])), Node("scale", layer, inputs: ["input"])],
            outputs: ["scale"])
        graph.kernelLayouts = KernelLayoutCache()
        let x = Tensor(shape: [5, 100_000]) { p in
            for i in p.indices { p[i] = Float(i % 1000) - Float(i / 100_000) }
        }
        let saved = Compute.threads
        defer { Compute.setThreads(saved) }
        Compute.setThreads(1)
        XCTAssertEqual(graph.inferenceChunk, 1)
        XCTAssertEqual(
            try graph.predict([x])[0],
            Tensor(shape: x.shape) { p in
                for i in p.indices { p[i] = 2 * x.scalars[i] }
            })
        XCTAssertEqual(counter.preparedRuns, 5, "one call per chunk")
        XCTAssertEqual(counter.preparations, 1, "every chunk has the same shape")
        var observed: [[Int]] = []
        _ = try graph.predict([x]) { _, value in observed.append(value.shape) }
        XCTAssertEqual(observed, [[5, 100_000]], "the layer's whole-batch output")
        XCTAssertEqual(counter.preparedRuns, 6)
        Compute.setThreads(2)
        XCTAssertNil(graph.inferenceChunk)
        _ = try graph.predict([x])
        XCTAssertEqual(counter.preparedRuns, 7)
    }

    /// Concurrent calls each get a program of their own.
    func testConcurrentPredictionsGiveTheirOwnOutputs() throws {
        let graph = try graph(scale: 2)
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { k in
            for round in 0..<20 {
                let batch = 1 + (k + round) % 3
                let output = try? graph.predict([Self.input(batch)])[0].scalars
                if output != Self.input(batch).scalars.map({ $0 * 2 }) { failures.add(1, ordering: .relaxed) }
            }
        }
        XCTAssertEqual(failures.load(ordering: .relaxed), 0)
        XCTAssertEqual(counter.preparedRuns, 160)
    }
}

/// Counts a `Scale` layer's preparations and calls.
final class PreparationCounter: Sendable {
    private let counts = Mutex((preparations: 0, preparedRuns: 0, forwards: 0))
    var preparations: Int { counts.withLock { $0.preparations } }
    var preparedRuns: Int { counts.withLock { $0.preparedRuns } }
    var forwards: Int { counts.withLock { $0.forwards } }
    func prepared() { counts.withLock { $0.preparations += 1 } }
    func ran() { counts.withLock { $0.preparedRuns += 1 } }
    func forwarded() { counts.withLock { $0.forwards += 1 } }
}

/// `x * weights[0][0]`, with a prepared pass that holds the scale it was prepared with and
/// refuses other shapes, counted.
private struct Scale: Layer {
    static let kerasClassName = "TestScale"
    let counter: PreparationCounter
    var weights: [Tensor] = []

    init(counter: PreparationCounter) { self.counter = counter }
    init(config: LayerConfig) throws { counter = PreparationCounter() }
    var config: LayerConfig { LayerConfig() }

    func outputShape(for inputShapes: [Shape]) throws -> Shape { try onlyInput(inputShapes) }
    func weightShapes(for inputShapes: [Shape]) throws -> [Shape] { [[1]] }

    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        counter.forwarded()
        let scale = weights[0].scalars[0]
        var y = try onlyInput(inputs)
        for i in y.scalars.indices { y.scalars[i] *= scale }
        return LayerOutput(y)
    }

    func preparedForward(inputShapes: [[Int]], kernelLayouts: KernelLayoutCache?) throws -> (any PreparedForward)? {
        counter.prepared()
        return Prepared(shape: try onlyInput(inputShapes), scale: weights[0].scalars[0], counter: counter)
    }

    final class Prepared: PreparedForward {
        let shape: [Int], scale: Float, counter: PreparationCounter
        init(shape: [Int], scale: Float, counter: PreparationCounter) {
            self.shape = shape
            self.scale = scale
            self.counter = counter
        }
        func run(_ inputs: [Tensor]) throws -> Tensor {
            var y = try onlyInput(inputs)
            guard y.shape == shape else { throw LayerError.inputShape("prepared for \(shape), got \(y.shape)") }
            counter.ran()
            for i in y.scalars.indices { y.scalars[i] *= scale }
            return y
        }
    }

    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        LayerGradients(inputs: [outputGradient])
    }
}
