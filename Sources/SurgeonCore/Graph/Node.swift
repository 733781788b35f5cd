/// One layer in a graph: a unique name, the layer value, and the names of the nodes it reads.
public struct Node: Sendable {
    public var name: String
    public var layer: any Layer
    /// The producers of this node's inputs, in the order the layer expects them. A node without
    /// inputs is a graph input (an `InputLayer`).
    public var inputs: [String]

    public init(_ name: String, _ layer: any Layer, inputs: [String] = []) {
        self.name = name
        self.layer = layer
        self.inputs = inputs
    }
}
