#if canImport(Glibc)
    import Glibc
#endif

/// Softmax cross-entropy on a batch `[N, K]` of logits, or of probabilities when the model
/// already ends in a softmax (then, like Keras, probabilities are clipped to [1e-7, 1 - 1e-7]).
public struct SoftmaxCrossEntropy: Sendable {
    /// True when the model's output is logits (no softmax at the end).
    public var fromLogits: Bool

    public init(fromLogits: Bool) { self.fromLogits = fromLogits }

    /// The result for one batch.
    public struct Result: Sendable {
        /// Mean loss over the batch.
        public var loss: Double
        /// dLoss/dOutput, `[N, K]`.
        public var gradient: Tensor
        /// Samples whose arg-max output is the label.
        public var correct: Int
    }

    public func evaluate(output: Tensor, labels: [Int], wantGradient: Bool = true) -> Result {
        let n = output.shape[0], k = output.count / max(n, 1)
        var gradient = wantGradient ? Tensor(shape: output.shape) : Tensor(shape: [0])
        var total = 0.0
        var correct = 0
        let eps: Float = 1e-7
        output.scalars.withUnsafeBufferPointer { y in
            for i in 0..<n {
                let row = y.baseAddress! + i * k
                var best = 0
                for j in 1..<max(k, 1) where row[j] > row[best] { best = j }
                if best == labels[i] { correct += 1 }
                if fromLogits {
                    var m = -Float.infinity
                    for j in 0..<k { m = max(m, row[j]) }
                    var s = 0.0
                    for j in 0..<k { s += Double(exp(row[j] - m)) }
                    let logSum = Double(m) + log(s)
                    total += logSum - Double(row[labels[i]])
                    if wantGradient {
                        for j in 0..<k {
                            let p = Float(exp(Double(row[j]) - logSum))
                            gradient.scalars[i * k + j] = (p - (j == labels[i] ? 1 : 0)) / Float(n)
                        }
                    }
                } else {
                    let p = min(max(row[labels[i]], eps), 1 - eps)
                    total -= Double(log(p))
                    if wantGradient, row[labels[i]] == p {
                        gradient.scalars[i * k + labels[i]] = -1 / (p * Float(n))
                    }
                }
            }
        }
        return Result(loss: total / Double(max(n, 1)), gradient: gradient, correct: correct)
    }
}
