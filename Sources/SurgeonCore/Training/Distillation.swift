#if canImport(Glibc)
    import Glibc
#endif

/// Knowledge distillation (Hinton, Vinyals and Dean, 2015) for retraining a pruned model: the
/// unpruned model is the teacher, and the student learns its softened outputs as well as the
/// labels. The loss is `(1 - weight) · CE(student, labels) + weight · T² · KL(q_t ‖ q_s)` with
/// `q = softmax(z / T)` of each model's logits `z` (of log-probabilities for a model that ends in a
/// softmax); `T²` keeps the soft term's gradient on the scale of the hard one.
public struct Distillation: Sendable {
    public var teacher: Graph
    /// The temperature `T` that softens both distributions.
    public var temperature: Double
    /// The share of the soft-target term, in [0, 1].
    public var weight: Double

    public static let defaultTemperature = 4.0
    public static let defaultWeight = 0.5
    /// The accepted ranges (validated where the numbers come in).
    public static let temperatures = 0.05...100.0
    public static let weights = 0.0...1.0

    public init(
        teacher: Graph, temperature: Double = Self.defaultTemperature, weight: Double = Self.defaultWeight
    ) throws(TrainingError) {
        guard Self.temperatures.contains(temperature) else {
            throw .configuration("the distillation temperature is \(temperature); accepted: 0.05...100")
        }
        guard Self.weights.contains(weight) else {
            throw .configuration("the distillation weight is \(weight); accepted: 0...1")
        }
        self.teacher = teacher
        self.temperature = temperature
        self.weight = weight
    }

    /// Refuses a teacher whose input or output does not match the student's.
    public func checkCompatible(with student: Graph) throws(TrainingError) {
        let inputs = { (g: Graph) in g.inputNodeIndices.map { g.shapes[$0] } }
        let outputs = { (g: Graph) in g.outputNodeIndices.map { g.shapes[$0] } }
        guard inputs(teacher) == inputs(student) else {
            throw .configuration(
                "the teacher takes inputs \(inputs(teacher)) per sample, the model being trained \(inputs(student))")
        }
        guard outputs(teacher).count == 1, outputs(teacher) == outputs(student) else {
            throw .configuration(
                "the teacher's outputs are \(outputs(teacher)) per sample, the model being trained has "
                    + "\(outputs(student)); distillation needs one classifier output of the same classes")
        }
    }

    /// The mixed loss on one batch and its gradient with respect to the student's output:
    /// `hard` is the labels' cross-entropy already computed on `output`.
    public func mixing(
        _ hard: SoftmaxCrossEntropy.Result, output: Tensor, studentGivesProbabilities: Bool, teacherOutput: Tensor
    ) -> SoftmaxCrossEntropy.Result {
        let n = output.shape.first ?? 0, k = output.count / max(n, 1)
        let t = temperature, w = weight
        var result = hard
        var soft = 0.0
        let eps: Float = 1e-7
        let teacherProbabilities = teacher.producesProbabilities
        for i in 0..<n {
            // Logits, or log-probabilities of a model that ends in a softmax.
            func logits(_ x: Tensor, _ probabilities: Bool) -> [Double] {
                (0..<k).map { j in
                    let v = x.scalars[i * k + j]
                    return probabilities ? Double(log(max(v, eps))) : Double(v)
                }
            }
            let qt = Self.softmax(logits(teacherOutput, teacherProbabilities), temperature: t)
            let qs = Self.softmax(logits(output, studentGivesProbabilities), temperature: t)
            for j in 0..<k where qt[j] > 0 { soft += qt[j] * (log(qt[j]) - log(max(qs[j], 1e-300))) }
            for j in 0..<k {
                // d(T² · KL) / dz_j = T · (q_s - q_t); through z = log p for a softmax output.
                var g = t * (qs[j] - qt[j]) / Double(n)
                if studentGivesProbabilities { g /= Double(max(output.scalars[i * k + j], eps)) }
                let index = i * k + j
                result.gradient.scalars[index] = Float((1 - w) * Double(hard.gradient.scalars[index]) + w * g)
            }
        }
        result.loss = (1 - w) * hard.loss + w * t * t * soft / Double(max(n, 1))
        return result
    }

    static func softmax(_ z: [Double], temperature: Double) -> [Double] {
        let scaled = z.map { $0 / temperature }
        let m = scaled.max() ?? 0
        let e = scaled.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }
}
