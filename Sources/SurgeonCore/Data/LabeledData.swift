/// Samples and their integer class labels, in memory: `images` is `[N, ...]` (NHWC for
/// images), `labels[i]` the class of sample `i`.
public struct LabeledData: Sendable {
    public var images: Tensor
    public var labels: [Int]

    /// Pairs samples with labels; the counts must agree and labels must be non-negative.
    public init(images: Tensor, labels: [Int]) throws(DataError) {
        guard images.rank >= 2 else { throw .notBatched(shape: images.shape) }
        guard images.shape[0] == labels.count else {
            throw .countMismatch(samples: images.shape[0], labels: labels.count)
        }
        if let bad = labels.firstIndex(where: { $0 < 0 }) { throw .negativeLabel(index: bad, value: labels[bad]) }
        self.images = images
        self.labels = labels
    }

    public var count: Int { labels.count }

    /// The per-sample shape.
    public var sampleShape: Shape { Array(images.shape.dropFirst()) }

    /// Samples `range` (e.g. the first 4,000 for training).
    public func slice(_ range: Range<Int>) -> LabeledData {
        // Same invariants as `self`, so the unchecked path is safe.
        LabeledData(unchecked: images.slice(rows: range), labels: Array(labels[range]))
    }

    /// The samples at `indices`, in that order.
    public func gather(_ indices: [Int]) -> LabeledData {
        LabeledData(unchecked: images.gather(rows: indices), labels: indices.map { labels[$0] })
    }

    /// Splits off the last `fraction` of the samples as a validation set (Keras's
    /// `validation_split` takes the tail too).
    public func split(
        validationFraction fraction: Double
    ) throws(DataError) -> (train: LabeledData, validation: LabeledData) {
        guard fraction > 0, fraction < 1 else { throw .badSplit(fraction) }
        let validation = Int((Double(count) * fraction).rounded())
        guard validation > 0, validation < count else { throw .badSplit(fraction) }
        return (slice(0..<(count - validation)), slice((count - validation)..<count))
    }

    /// The one check of labels against a model's class count, used by every command (train,
    /// eval, sensitivity, prune, run) and every criterion that reads labels (`taylor`): each label
    /// must lie in `0..<classes`. `source` names the labels file in the error.
    public func checkLabels(classes: Int, source: String = "the labels") throws(DataError) {
        try Self.checkLabels(labels, classes: classes, source: source)
    }

    static func checkLabels(_ labels: [Int], classes: Int, source: String) throws(DataError) {
        if let i = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
            throw .labelOutOfRange(source: source, index: i, label: labels[i], classes: classes)
        }
    }

    private init(unchecked images: Tensor, labels: [Int]) {
        self.images = images
        self.labels = labels
    }

    /// Reads labels given as integers `[N]` or as one-hot rows `[N, K]`. Every value goes
    /// through `OutsideNumber` (finite, integral, in `0...2^31`), so `inf` or `1e20` is an error
    /// naming the row, never a trap. With `classes`, every label must lie in `0..<classes` and
    /// one-hot rows must have exactly that many columns.
    public static func labels(from array: Tensor, source: String, classes: Int? = nil) throws(DataError) -> [Int] {
        let range = 0...OutsideNumber.largestSize
        if array.rank == 1 {
            var out: [Int] = []
            out.reserveCapacity(array.count)
            for (i, v) in array.scalars.enumerated() {
                guard let label = try? OutsideNumber.integer(Double(v), in: range) else {
                    throw .badLabel(source: source, index: i, value: "\(v)")
                }
                out.append(label)
            }
            if let classes { try checkLabels(out, classes: classes, source: source) }
            return out
        }
        guard array.rank == 2 else { throw .labelShape(source: source, shape: array.shape) }
        let k = array.shape[1]
        if let classes, k != classes {
            throw .badLabel(
                source: source, index: 0, value: "a one-hot row of \(k) columns (the model has \(classes) classes)")
        }
        var out: [Int] = []
        for i in 0..<array.shape[0] {
            let row = array.scalars[(i * k)..<((i + 1) * k)]
            guard row.allSatisfy({ $0 == 0 || $0 == 1 }), row.reduce(0, +) == 1, let hot = row.firstIndex(of: 1) else {
                throw .badLabel(source: source, index: i, value: "a row that is not one-hot")
            }
            out.append(hot - i * k)
        }
        return out
    }
}

/// Data that cannot be used as given; each case names the file or value at fault.
public enum DataError: Error, Equatable, CustomStringConvertible {
    case notBatched(shape: [Int])
    case countMismatch(samples: Int, labels: Int)
    case negativeLabel(index: Int, value: Int)
    case badLabel(source: String, index: Int, value: String)
    case labelShape(source: String, shape: [Int])
    case badSplit(Double)
    case labelOutOfRange(source: String, index: Int, label: Int, classes: Int)
    case sampleShape(expected: Shape, actual: Shape)
    case normalization(String)
    case noSamples

    public var description: String {
        switch self {
        case let .notBatched(shape):
            return "the data has shape \(shape); expected a batch of samples [N, ...]"
        case let .countMismatch(samples, labels):
            return "there are \(samples) samples but \(labels) labels"
        case let .negativeLabel(index, value):
            return "label \(index) is \(value); labels must be class indices >= 0"
        case let .badLabel(source, index, value):
            return "\(source): label \(index) is \(value); expected an integer class index or a one-hot row"
        case let .labelShape(source, shape):
            return "\(source): labels of shape \(shape); expected [N] class indices or [N, classes] one-hot rows"
        case let .badSplit(fraction):
            return "validation split \(fraction) must be between 0 and 1 and leave samples on both sides"
        case let .labelOutOfRange(source, index, label, classes):
            return "\(source): label \(index) is \(label), out of range for a model with \(classes) classes "
                + "(expected an integer in 0...\(classes - 1))"
        case let .sampleShape(expected, actual):
            return "the model takes samples of shape \(expected), but the data has samples of shape \(actual)"
        case let .normalization(message):
            return message
        case .noSamples:
            return "the data has 0 samples; evaluating needs at least one"
        }
    }
}
