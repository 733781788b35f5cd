/// A weight that is NaN or infinite, found before a model is written: a model file never
/// carries such a value silently.
public struct NonFiniteWeight: Sendable, Equatable, CustomStringConvertible {
    public var layer: String
    /// The weight's Keras name (`kernel`, `gamma`, ...) or its position when the layer names none.
    public var weight: String
    public var index: Int
    public var value: Float

    public var description: String {
        "layer '\(layer)': \(weight)[\(index)] is \(value); a model is written only with finite weights"
    }
}

extension Graph {
    /// The first NaN or infinite weight, in node order, or nil when every weight is finite.
    public var firstNonFiniteWeight: NonFiniteWeight? {
        for node in nodes {
            let names = node.layer.weightNames
            for (w, tensor) in node.layer.weights.enumerated() {
                guard let i = tensor.scalars.firstIndex(where: { !$0.isFinite }) else { continue }
                let name = w < names.count ? names[w] : "weight \(w)"
                return NonFiniteWeight(layer: node.name, weight: name, index: i, value: tensor.scalars[i])
            }
        }
        return nil
    }
}
