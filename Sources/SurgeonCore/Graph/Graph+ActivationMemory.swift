/// The memory a pass over a batch needs for its activations, checked before the pass runs so
/// that a small model with a huge `UpSampling2D` (or a huge batch) is refused by name instead of
/// asking the system for a hundred gigabytes.
extension Graph {
    /// Throws when the float activations of a pass over `batch` samples would exceed `budget`,
    /// naming the node whose output crosses it.
    ///
    /// Inference counts the values alive at once (each is released after its last reader, as
    /// `predict` does). Training keeps every node's output on the tape and then needs gradients
    /// as large as the two largest outputs, so it counts all outputs plus twice the largest.
    /// Kernel scratch (im2col) is chunked to a few megabytes and not counted.
    public func checkActivationMemory(
        batch: Int, training: Bool, budget: MemoryBudget = .standard
    ) throws(GraphError) {
        let floats = MemoryLayout<Float>.size
        func bytes(_ scalars: Int) -> Int {
            let (perBatch, o1) = scalars.multipliedReportingOverflow(by: max(batch, 0))
            let (total, o2) = perBatch.multipliedReportingOverflow(by: floats)
            return o1 || o2 ? Int.max : total
        }
        func add(_ a: Int, _ b: Int) -> Int { a.addingReportingOverflow(b).overflow ? Int.max : a + b }
        func refuse(_ node: Int, needed: Int) -> GraphError {
            .activationMemory(
                node: nodes[node].name, type: nodes[node].layer.kerasClassName,
                error: MemoryBudgetError(
                    what: "the activations of \(training ? "a training" : "an inference") pass over a batch of "
                        + "\(batch), up to this node's output of \(shapes[node]) per sample,",
                    needed: needed == Int.max ? nil : needed, budget: budget.bytes))
        }
        if training {
            let perSample = inferenceSchedule.outputPerSample
            var total = 0
            var largest = 0
            for i in nodes.indices {
                let b = bytes(perSample[i])
                largest = max(largest, b)
                total = add(total, b)
                let peak = add(total, add(largest, largest))
                if peak > budget.bytes { throw refuse(i, needed: peak) }
            }
            return
        }
        for (i, live) in inferenceSchedule.livePerSample.enumerated() {
            let needed = bytes(live)
            if needed > budget.bytes { throw refuse(i, needed: needed) }
        }
    }
}
