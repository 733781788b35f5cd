/// Forward and backward passes over a whole graph.
extension Graph {
    /// The result of a training-mode forward pass, kept for `backward`.
    public struct Tape: Sendable {
        /// Each node's output (with its cache), parallel to `nodes`.
        public var outputs: [LayerOutput]
        public var context: ForwardContext
    }

    /// Runs the graph in inference mode; returns one tensor per output, batch axis first.
    /// Intermediate values are released as soon as their last reader has run.
    public func predict(_ inputs: [Tensor]) throws(GraphError) -> [Tensor] {
        try predict(inputs, observe: nil)
    }

    /// `predict`, calling `observe(node, value)` with every node's output as it is computed
    /// (for statistics streamed batch by batch, such as APoZ).
    public func predict(_ inputs: [Tensor], observe: ((Int, Tensor) -> Void)?) throws(GraphError) -> [Tensor] {
        let sources = try checkedSources(inputs)
        if observe == nil, kernelLayouts != nil, let chunk = inferenceChunk, let batch = inputs.first?.shape.first,
            batch > chunk, inputs.allSatisfy({ $0.shape.first == batch })
        {
            return try predict(inputs, inChunksOf: chunk)
        }
        try checkActivationMemory(batch: inputs.first?.shape.first ?? 0, training: false)
        let releases = inferenceSchedule.releases
        let program = kernelLayouts == nil ? nil : try inferenceProgram(for: inputs)
        defer { program.map(inferencePrograms.giveBack) }
        var values = [Tensor?](repeating: nil, count: nodes.count)
        for i in nodes.indices {
            if let s = sources[i] { values[i] = inputs[s]; continue }
            if let step = program?.steps[i] {
                let reads = inputIndices[i]
                do {
                    values[i] = try reads.count == 1 ? step.run(values[reads[0]]!) : step.run(reads.map { values[$0]! })
                } catch {
                    throw Graph.wrapped(error, nodes[i])
                }
            } else {
                let args = inputIndices[i].map { values[$0]! }
                let node = nodes[i]
                let context = ForwardContext(training: false, kernelLayouts: kernelLayouts)
                values[i] = try Graph.wrap(node) { try node.layer.forward(args, context: context).value }
            }
            observe?(i, values[i]!)
            for j in releases[i] { values[j] = nil }
        }
        return outputNodeIndices.map { values[$0]! }
    }

    /// Runs the graph in training mode (batch statistics, active dropout), keeping every node's
    /// output and cache for `backward`. `profile` times every node's forward pass.
    public func forwardTraining(
        _ inputs: [Tensor], context: ForwardContext, profile: LayerProfile? = nil
    ) throws(GraphError) -> Tape {
        let sources = try checkedSources(inputs)
        try checkActivationMemory(batch: inputs.first?.shape.first ?? 0, training: true)
        var outputs: [LayerOutput] = []
        outputs.reserveCapacity(nodes.count)
        for i in nodes.indices {
            if let s = sources[i] { outputs.append(LayerOutput(inputs[s])); continue }
            let args = inputIndices[i].map { outputs[$0].value }
            let node = nodes[i]
            let nodeContext = ForwardContext(training: true, seed: context.seed &+ UInt64(i) &* 0x9E37_79B9)
            let start = profile.map { _ in ContinuousClock.now }
            outputs.append(try Graph.wrap(node) { try node.layer.forward(args, context: nodeContext) })
            if let profile, let start { profile.add(node.layer.kerasClassName, forward: ContinuousClock.now - start) }
        }
        return Tape(outputs: outputs, context: context)
    }

    /// Back-propagates `outputGradients` (one per graph output) through the tape; returns the
    /// gradients of each node's trainable weights, parallel to `nodes`.
    public func backward(_ tape: Tape, outputGradients: [Tensor]) throws(GraphError) -> [[Tensor]] {
        try backward(tape, outputGradients: outputGradients, observe: nil)
    }

    /// `backward`, calling `observe(node, gradient)` with dLoss/dOutput of every node once it is
    /// complete (first-order Taylor importance needs it).
    public func backward(
        _ tape: Tape, outputGradients: [Tensor], observe: ((Int, Tensor) -> Void)?, profile: LayerProfile? = nil
    ) throws(GraphError) -> [[Tensor]] {
        guard outputGradients.count == outputNames.count else {
            throw .inputCount(expected: outputNames.count, actual: outputGradients.count)
        }
        var grads = [Tensor?](repeating: nil, count: nodes.count)
        for (k, o) in outputNodeIndices.enumerated() {
            grads[o] = Graph.accumulate(grads[o], outputGradients[k])
        }
        var weightGrads = [[Tensor]](repeating: [], count: nodes.count)
        for i in nodes.indices.reversed() {
            guard let g = grads[i] else { continue }
            grads[i] = nil
            observe?(i, g)
            let node = nodes[i]
            if inputIndices[i].isEmpty { continue }
            let args = inputIndices[i].map { tape.outputs[$0].value }
            let nodeContext = ForwardContext(training: true, seed: tape.context.seed &+ UInt64(i) &* 0x9E37_79B9)
            let start = profile.map { _ in ContinuousClock.now }
            let result = try Graph.wrap(node) {
                try node.layer.backward(g, inputs: args, output: tape.outputs[i], context: nodeContext)
            }
            if let profile, let start { profile.add(node.layer.kerasClassName, backward: ContinuousClock.now - start) }
            weightGrads[i] = result.weights
            for (k, j) in inputIndices[i].enumerated() where k < result.inputs.count {
                grads[j] = Graph.accumulate(grads[j], result.inputs[k])
            }
        }
        return weightGrads
    }

    /// Stores the new moving statistics that a training step produced.
    public mutating func applyStateUpdates(from tape: Tape) {
        for i in nodes.indices {
            if let state = tape.outputs[i].updatedState { setState(state, ofNode: i) }
        }
    }

    /// Maps each input node to the index of its tensor in `inputs`, checking the shapes.
    private func checkedSources(_ inputs: [Tensor]) throws(GraphError) -> [Int?] {
        let sourceNodes = inputNodeIndices
        guard inputs.count == sourceNodes.count else {
            throw .inputCount(expected: sourceNodes.count, actual: inputs.count)
        }
        var sources = [Int?](repeating: nil, count: nodes.count)
        for (k, i) in sourceNodes.enumerated() {
            let sample = Array(inputs[k].shape.dropFirst())
            guard inputs[k].rank >= 1, sample == shapes[i] else {
                throw .inputShape(node: nodes[i].name, expected: shapes[i], actual: sample)
            }
            sources[i] = k
        }
        return sources
    }

    private static func accumulate(_ existing: Tensor?, _ new: Tensor) -> Tensor {
        guard var sum = existing else { return new }
        sum.add(new)
        return sum
    }
}
