/// What a model file holds, in any format: the graph, free-form metadata (input normalisation,
/// training state, a source format's extra settings) and named tensors besides the weights (a
/// checkpoint's optimizer slots). The formats live in `SurgeonFormats` and the format modules;
/// the core only knows this value.
public struct ModelContents: Sendable {
    public var graph: Graph
    /// Free-form figures and settings (input normalisation, training state, ...).
    public var metadata: [String: ConfigValue]
    /// Named tensors besides the weights (a checkpoint's optimizer slots), in order.
    public var extraTensors: [(name: String, tensor: Tensor)]

    public init(
        graph: Graph, metadata: [String: ConfigValue] = [:], extraTensors: [(name: String, tensor: Tensor)] = []
    ) {
        self.graph = graph
        self.metadata = metadata
        self.extraTensors = extraTensors
    }
}

/// Where the trainer keeps its `best` and `last` checkpoints. The core names them; a store
/// decides the format and the place (`CheckpointFolder` in `SurgeonFormats` writes
/// `DIR/best.surgeon` and `DIR/last.surgeon` atomically).
public protocol CheckpointStore: Sendable {
    /// Writes the checkpoint called `name`, replacing an older one only when complete.
    func save(_ contents: ModelContents, as name: String) throws
    /// The checkpoint called `name`, or nil when there is none.
    func load(_ name: String) throws -> ModelContents?
    /// Where the checkpoint called `name` lives, for messages (a path).
    func location(of name: String) -> String
}
