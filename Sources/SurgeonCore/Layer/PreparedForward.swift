/// A layer's inference forward pass made ready for inputs of one set of shapes (batch axis
/// included): what can be worked out once, such as a convolution's geometry, its backend
/// primitive and its kernel in the backend's layout, is, so that a call does only the work.
///
/// Made by `Layer.preparedForward(inputShapes:kernelLayouts:)`; `Graph.predict` keeps them, per
/// input shape, for a graph that only predicts. A prepared pass holds what it read from the
/// layer (weights included) and computes what the layer's inference `forward` computes on
/// them. Not for concurrent calls: the graph gives one to one call at a time.
public protocol PreparedForward: AnyObject {
    /// The layer's output for `inputs`, which have the shapes the pass was prepared for.
    func run(_ inputs: [Tensor]) throws -> Tensor

    /// The same for a layer of one input, without an array around it (the graph's call for
    /// such a layer: at batch 1 allocating one per layer showed). Defaults to `run([input])`.
    func run(_ input: Tensor) throws -> Tensor
}

extension PreparedForward {
    public func run(_ input: Tensor) throws -> Tensor { try run([input]) }
}
