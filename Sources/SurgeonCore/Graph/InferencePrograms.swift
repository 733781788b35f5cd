import Synchronization

/// A graph's layers with their inference passes prepared (`Layer.preparedForward`) for one set
/// of input shapes, the thread setting and the convolution backend, kept between `predict`
/// calls of a graph that only predicts (one with `kernelLayouts`): at batch 1, finding each
/// convolution's primitive and kernel layout again on every call cost about as much as
/// running the small ones.
///
/// A graph starts a new, empty set whenever its nodes change (so a program never runs weights
/// the graph no longer has); copies of an unchanged graph share one. A program serves one
/// call at a time: a call takes one (made when none is idle) and gives it back.
final class InferencePrograms: Sendable {
    /// What a program was made for.
    struct Key: Hashable {
        let inputShapes: [[Int]]
        let threads: Int
        let backend: ConvolutionBackend
    }

    /// For each node, its prepared pass, or nil where the node runs `forward` (inputs, layers
    /// that prepare nothing).
    final class Program {
        let key: Key
        let steps: [(any PreparedForward)?]

        init(key: Key, steps: [(any PreparedForward)?]) {
            self.key = key
            self.steps = steps
        }
    }

    /// The most idle programs kept (a few input shapes, such as a data set's last, smaller
    /// batch, times concurrent callers); one more empties the set.
    static let capacity = 16

    private struct Idle {
        var byKey: [Key: [Program]] = [:]
        var count = 0
    }
    private let idle = Mutex(UncheckedSendable(Idle()))

    /// An idle program for `key`, or nil when none is.
    func take(_ key: Key) -> Program? {
        idle.withLock { box in
            guard let program = box.value.byKey[key]?.popLast() else { return nil }
            box.value.count -= 1
            return program
        }
    }

    /// Makes `program` available to the next call with its key.
    func giveBack(_ program: Program) {
        idle.withLock { box in
            if box.value.count >= Self.capacity { box.value = Idle() }
            box.value.byKey[program.key, default: []].append(program)
            box.value.count += 1
        }
    }
}

extension Graph {
    /// The program for `inputs` (validated by the caller): an idle one, or a new one.
    func inferenceProgram(for inputs: [Tensor]) throws(GraphError) -> InferencePrograms.Program? {
        guard let batch = inputs.first?.shape.first, inputs.allSatisfy({ $0.shape.first == batch }) else { return nil }
        let key = InferencePrograms.Key(
            inputShapes: inputs.map(\.shape), threads: Compute.threads, backend: ConvolutionBackend.current)
        if let program = inferencePrograms.take(key) { return program }
        var steps: [(any PreparedForward)?] = []
        steps.reserveCapacity(nodes.count)
        for (i, node) in nodes.enumerated() {
            guard !inputIndices[i].isEmpty else {
                steps.append(nil)
                continue
            }
            let shapes = inputIndices[i].map { [batch] + self.shapes[$0] }
            steps.append(
                try Graph.wrap(node) {
                    try node.layer.preparedForward(inputShapes: shapes, kernelLayouts: kernelLayouts)
                })
        }
        return InferencePrograms.Program(key: key, steps: steps)
    }
}
