/// Inference over a data set in batches.
public enum Evaluation {
    /// Loss, accuracy and sample count of a model on labelled data.
    public struct Result: Sendable, Codable, Equatable {
        public var loss: Double
        public var accuracy: Double
        public var samples: Int
    }

    /// Evaluates `graph` (one input, one output `[N, classes]`) on `data`.
    public static func evaluate(_ graph: Graph, on data: LabeledData, batchSize: Int = 256) throws -> Result {
        try checkCompatible(graph, data)
        guard data.count > 0 else { throw TrainingError.data(.noSamples) }
        let loss = SoftmaxCrossEntropy(fromLogits: !graph.producesProbabilities)
        var total = 0.0, correct = 0
        for start in stride(from: 0, to: data.count, by: batchSize) {
            let range = start..<min(start + batchSize, data.count)
            let output = try graph.predict([data.images.slice(rows: range)])[0]
            let r = loss.evaluate(output: output, labels: Array(data.labels[range]), wantGradient: false)
            total += r.loss * Double(range.count)
            correct += r.correct
        }
        let n = max(data.count, 1)
        return Result(loss: total / Double(n), accuracy: Double(correct) / Double(n), samples: data.count)
    }

    /// The model's outputs for every sample, `[N, ...]`.
    public static func predict(_ graph: Graph, on images: Tensor, batchSize: Int = 256) throws -> Tensor {
        var parts: [Tensor] = []
        let n = images.shape.first ?? 0
        for start in stride(from: 0, to: n, by: batchSize) {
            parts.append(try graph.predict([images.slice(rows: start..<min(start + batchSize, n))])[0])
        }
        return try Tensor.stack(rows: parts)
    }

    /// Checks that the graph takes these samples and has room for every label.
    public static func checkCompatible(_ graph: Graph, _ data: LabeledData) throws(TrainingError) {
        guard graph.inputNodeIndices.count == 1, graph.outputNames.count == 1 else {
            throw .model(
                "training and evaluation need a model with one input and one output; this one has "
                    + "\(graph.inputNodeIndices.count) and \(graph.outputNames.count)"
            )
        }
        try checkSamples(graph, data)
        try checkLabels(firstOutputOf: graph, data)
    }

    /// Checks that the graph has one input and that it takes samples of the data's shape. Extra
    /// outputs are allowed (criteria that only watch activations).
    public static func checkSamples(_ graph: Graph, _ data: LabeledData) throws(TrainingError) {
        guard graph.inputNodeIndices.count == 1 else {
            throw .model("this needs a model with one input; this one has \(graph.inputNodeIndices.count)")
        }
        let inputShape = graph.shapes[graph.inputNodeIndices[0]]
        guard inputShape == data.sampleShape else {
            throw .data(.sampleShape(expected: inputShape, actual: data.sampleShape))
        }
    }

    /// Checks that the graph's first output is `[classes]` and that every label lies in
    /// `0..<classes`, the output a loss on these labels reads.
    public static func checkLabels(firstOutputOf graph: Graph, _ data: LabeledData) throws(TrainingError) {
        guard let output = graph.outputNodeIndices.first else { throw .model("the model has no output") }
        let outputShape = graph.shapes[output]
        guard outputShape.count == 1 else {
            throw .model("the model's output has shape \(outputShape); a classifier's output must be [classes]")
        }
        do { try data.checkLabels(classes: outputShape[0]) } catch { throw .data(error) }
    }
}

extension Graph {
    /// True when the (first) output node ends in a softmax.
    public var producesProbabilities: Bool {
        guard let o = outputNodeIndices.first else { return false }
        return nodes[o].layer.producesProbabilities
    }
}
