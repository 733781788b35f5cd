/// Inference over a large batch, a few samples at a time.
extension Graph {
    /// Bytes of live activations that a chunk of samples is sized to: half of a core's 2 MiB
    /// L2 cache, leaving room for the weights.
    ///
    /// A pass over a whole batch of 64 writes each layer's output to memory and reads it back
    /// for the next; MobileNetV2's expanded 28x28x96 tensors are 19 MB at batch 64. In chunks
    /// whose activations stay in the cache, a batch of 64 through the inference form of
    /// MobileNetV2 took 0.7-0.8 of the time on one thread (interleaved pairs, the demo's
    /// baseline and pruned models); vgg's, whose activations are a third as large, the same.
    static let inferenceChunkBytes = 1 << 20

    /// The samples an inference-form pass takes at a time on one thread: as many as keep the
    /// most live activations of any step within `inferenceChunkBytes`, at least one. Nil (the
    /// whole batch at once) on more threads, where oneDNN splits each layer of a small chunk
    /// over the threads for less than the cache saves.
    var inferenceChunk: Int? {
        guard Compute.threads == 1 else { return nil }
        let (bytes, overflow) = inferenceSchedule.peakLivePerSample.multipliedReportingOverflow(
            by: MemoryLayout<Float>.size)
        guard !overflow, bytes > 0 else { return 1 }
        return max(1, Graph.inferenceChunkBytes / bytes)
    }

    /// `predict` over `inputs` (checked, one batch size) in chunks of `chunk` samples, the
    /// outputs joined in order. Every layer treats samples independently in inference, so the
    /// result is the whole batch's, up to the kernels' summation order.
    func predict(_ inputs: [Tensor], inChunksOf chunk: Int) throws(GraphError) -> [Tensor] {
        let batch = inputs.first?.shape.first ?? 0
        var parts: [[Tensor]] = []
        for start in stride(from: 0, to: batch, by: chunk) {
            let rows = start..<min(start + chunk, batch)
            parts.append(try predict(inputs.map { $0.slice(rows: rows) }, observe: nil))
        }
        return try outputNodeIndices.enumerated().map { (k, node) throws(GraphError) in
            do {
                return try Tensor.stack(rows: parts.map { $0[k] })
            } catch {
                throw .layer(node: nodes[node].name, type: nodes[node].layer.kerasClassName, error: "\(error)")
            }
        }
    }
}
