/// A penalty added to the training loss, with its gradient: the hook through which sparse
/// training (an L1 penalty on BatchNorm gammas, Network Slimming) plugs into the `Trainer`.
///
/// Strategies in `SurgeonPlugins` adopt it; the core knows no concrete regulariser.
public protocol Regularizer: Sendable {
    /// A short name for logs (`l1-gamma`).
    var name: String { get }

    /// Returns the penalty for the graph's current weights and adds its gradient to
    /// `gradients` (indexed [node][trainable weight], as `Graph.backward` returns them).
    func apply(to graph: Graph, gradients: inout [[Tensor]]) -> Double

    /// Optional figures reported per epoch (e.g. the share of |gamma| below 1e-2).
    func report(for graph: Graph) -> [String: Double]

    /// The regulariser that epoch `epoch` (0-based) of `epochs` trains with, given the model
    /// as that epoch starts: a strength that grows over the run, the channels a planned cut
    /// would delete. Called by the `Trainer` before every epoch, a resumed run included; the
    /// default is `self`.
    func forEpoch(_ epoch: Int, of epochs: Int, graph: Graph) throws -> any Regularizer
}

extension Regularizer {
    public func report(for graph: Graph) -> [String: Double] { [:] }
    public func forEpoch(_ epoch: Int, of epochs: Int, graph: Graph) throws -> any Regularizer { self }
}
