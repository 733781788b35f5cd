import HeapModule

/// A functional DAG of layers: nodes in topological order, each with its inferred per-sample
/// output shape. Multiple inputs per node, shared outputs, residual and concatenating branches.
///
/// A `Graph` is valid by construction: `init` rejects unknown inputs, cycles, duplicate names,
/// shapes a layer refuses (e.g. an `Add` of mismatched shapes) and weights of the wrong shape,
/// with an error naming the node. `checkInvariants()` re-verifies all of that.
public struct Graph: Sendable {
    /// The nodes, in topological order (every node after the nodes it reads).
    public private(set) var nodes: [Node] {
        didSet { inferencePrograms = InferencePrograms() }
    }
    /// The per-sample output shape of each node, parallel to `nodes`.
    public private(set) var shapes: [Shape]
    /// The names of the nodes whose values the graph returns.
    public private(set) var outputNames: [String]
    /// For each node, the indices of its inputs.
    public private(set) var inputIndices: [[Int]]
    private var indexByName: [String: Int]
    /// What `predict` frees after each node, and the live activations it checks.
    private(set) var inferenceSchedule = InferenceSchedule(inputIndices: [], shapes: [], outputs: [])
    /// Kernels kept in the convolution backend's layouts between `predict` calls, for a graph
    /// that only predicts (`InferenceForm` sets one); nil reorders them on every call. Safe
    /// whatever happens to the weights afterwards (see `KernelLayoutCache`). With one,
    /// `predict` also keeps its layers' prepared passes (`Layer.preparedForward`).
    public var kernelLayouts: KernelLayoutCache?
    /// The prepared inference passes `predict` keeps when the graph has `kernelLayouts`; new
    /// and empty whenever `nodes` change.
    private(set) var inferencePrograms = InferencePrograms()

    /// How a layer that has no weights yet gets them when the graph is built.
    public enum WeightInitialization: Sendable {
        /// Keras's initialisers (glorot_uniform kernels, zero biases, ...), drawn from the seed.
        case kerasDefaults
        /// Zeros of the right shapes: for a reader that overwrites every weight next, so that
        /// drawing millions of random numbers is not wasted. The shapes come from a file's
        /// configuration, so their total is capped at `maximumElements` (what the file's weights
        /// could hold) before anything is allocated.
        case zeros(maximumElements: Int)
        /// None: a layer that needs weights but has none is an error. For a reader whose file
        /// must carry every weight (the native format): a layer stored without its weights is
        /// refused, never initialised first (a crafted Dense of 2^31 - 1 units would take 1 TB).
        case refuse
    }

    /// The most elements a node's per-sample output may have (2^31): far beyond any real
    /// network, and small enough that the shape arithmetic of layers never overflows.
    public static let maximumOutputElements = 1 << 31

    /// Builds a graph. Nodes may be given in any order; they are sorted topologically, keeping
    /// the given order where dependencies allow. A layer without weights gets Keras's initial
    /// weights drawn from `seed` (or zeros, see `WeightInitialization`); a layer with weights
    /// must have the shapes its inputs imply.
    public init(
        nodes: [Node], outputs: [String], seed: UInt64 = 0,
        initialization: WeightInitialization = .kerasDefaults
    ) throws(GraphError) {
        guard !nodes.isEmpty else { throw .empty }
        var position: [String: Int] = [:]
        for (i, node) in nodes.enumerated() {
            guard position[node.name] == nil else { throw .duplicateName(node.name) }
            position[node.name] = i
        }
        for node in nodes {
            for input in node.inputs where position[input] == nil {
                throw .unknownInput(node: node.name, input: input)
            }
        }
        for output in outputs where position[output] == nil { throw .unknownOutput(output) }

        let order = try Graph.topologicalOrder(nodes, position: position)
        self.nodes = order.map { nodes[$0] }
        self.indexByName = Dictionary(uniqueKeysWithValues: self.nodes.enumerated().map { ($1.name, $0) })
        self.outputNames = outputs.isEmpty ? Graph.sinks(of: self.nodes) : outputs
        self.inputIndices = []
        self.shapes = []
        let random = SeededRandom(seed: seed)
        var zeroed = 0
        for i in self.nodes.indices {
            let node = self.nodes[i]
            let inputIdx = node.inputs.map { indexByName[$0]! }
            inputIndices.append(inputIdx)
            let inputShapes = inputIdx.map { shapes[$0] }
            let shape = try Graph.wrap(node) { try node.layer.outputShape(for: inputShapes) }
            guard let elements = Graph.checkedElementCount(shape), elements <= Graph.maximumOutputElements else {
                throw .layer(
                    node: node.name, type: node.layer.kerasClassName,
                    error: "its output shape \(shape) has more than 2^31 elements per sample")
            }
            shapes.append(shape)
            if self.nodes[i].layer.weights.isEmpty {
                switch initialization {
                case .kerasDefaults:
                    var layerRandom = random.derived(UInt64(i))
                    self.nodes[i].layer.weights = try Graph.wrap(node) {
                        try node.layer.initialWeights(for: inputShapes, random: &layerRandom)
                    }
                case let .zeros(maximumElements):
                    let shapes = try Graph.wrap(node) { try node.layer.weightShapes(for: inputShapes) }
                    for weightShape in shapes {
                        guard let n = Graph.checkedElementCount(weightShape), n <= maximumElements - zeroed else {
                            throw .layer(
                                node: node.name, type: node.layer.kerasClassName,
                                error: "its weights of shapes \(shapes) need more values than the file holds")
                        }
                        zeroed += n
                    }
                    self.nodes[i].layer.weights = shapes.map { Tensor(shape: $0) }
                case .refuse:
                    let shapes = try Graph.wrap(node) { try node.layer.weightShapes(for: inputShapes) }
                    guard shapes.isEmpty else {
                        throw .layer(
                            node: node.name, type: node.layer.kerasClassName,
                            error: "it is stored without weights, but needs weights of shapes \(shapes); "
                                + "a model file must carry every layer's weights")
                    }
                }
            }
            try Graph.checkWeights(of: self.nodes[i], inputShapes: inputShapes)
        }
        inferenceSchedule = InferenceSchedule(inputIndices: inputIndices, shapes: shapes, outputs: outputNodeIndices)
    }

    /// The index of the node named `name`.
    public func index(of name: String) -> Int? { indexByName[name] }

    /// The node named `name`.
    public subscript(name: String) -> Node? { indexByName[name].map { nodes[$0] } }

    /// The indices of the graph's input nodes (nodes without inputs), in order.
    public var inputNodeIndices: [Int] { nodes.indices.filter { nodes[$0].inputs.isEmpty } }

    /// The indices of the output nodes, in `outputNames` order.
    public var outputNodeIndices: [Int] { outputNames.map { indexByName[$0]! } }

    /// The per-sample input shapes of node `i`.
    public func inputShapes(ofNode i: Int) -> [Shape] { inputIndices[i].map { shapes[$0] } }

    /// For each node, the indices of the nodes that read it.
    public var consumers: [[Int]] {
        var result = [[Int]](repeating: [], count: nodes.count)
        for (i, inputs) in inputIndices.enumerated() {
            for j in inputs where !result[j].contains(i) { result[j].append(i) }
        }
        return result
    }

    /// Replaces the weights of node `i`; they must keep their shapes.
    public mutating func setWeights(_ weights: [Tensor], ofNode i: Int) throws(GraphError) {
        var node = nodes[i]
        node.layer.weights = weights
        try Graph.checkWeights(of: node, inputShapes: inputShapes(ofNode: i))
        nodes[i] = node
    }

    /// Node `i`'s weights, moved out of the graph (its layer holds none until `setWeights` puts
    /// them back), so that an update in place copies nothing.
    mutating func takeWeights(ofNode i: Int) -> [Tensor] {
        var node = nodes[i]
        let weights = node.layer.weights
        node.layer.weights = []
        nodes[i] = node
        return weights
    }

    /// Replaces the non-trainable tail of node `i`'s weights (e.g. BatchNorm moving statistics).
    mutating func setState(_ state: [Tensor], ofNode i: Int) {
        let k = nodes[i].layer.trainableWeightCount
        var weights = nodes[i].layer.weights
        guard weights.count == k + state.count else { return }
        weights.replaceSubrange(k..., with: state)
        nodes[i].layer.weights = weights
    }

    /// Verifies everything `init` guarantees: unique names, known inputs, topological order,
    /// consistent shapes and weight shapes. Tests call it on every graph they build or rewrite.
    public func checkInvariants() throws(GraphError) {
        var seen: [String: Int] = [:]
        for (i, node) in nodes.enumerated() {
            guard seen[node.name] == nil else { throw .duplicateName(node.name) }
            for input in node.inputs {
                guard let j = seen[input] else {
                    if indexByName[input] != nil { throw .cycle(nodes: [node.name, input]) }
                    throw .unknownInput(node: node.name, input: input)
                }
                _ = j
            }
            seen[node.name] = i
            guard indexByName[node.name] == i, inputIndices[i] == node.inputs.map({ seen[$0]! }) else {
                throw .layer(node: node.name, type: node.layer.kerasClassName, error: "index tables are stale")
            }
            let inputShapes = inputShapes(ofNode: i)
            let shape = try Graph.wrap(node) { try node.layer.outputShape(for: inputShapes) }
            guard shape == shapes[i] else {
                throw .layer(
                    node: node.name, type: node.layer.kerasClassName,
                    error: "recorded shape \(shapes[i]) differs from inferred \(shape)")
            }
            try Graph.checkWeights(of: node, inputShapes: inputShapes)
        }
        for output in outputNames where indexByName[output] == nil { throw .unknownOutput(output) }
    }

    // MARK: - Helpers

    /// The product of `shape`, or nil when a dimension is negative or the product overflows.
    static func checkedElementCount(_ shape: Shape) -> Int? {
        var product = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = product.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            product = p
        }
        return product
    }

    static func wrap<T>(_ node: Node, _ body: () throws -> T) throws(GraphError) -> T {
        do { return try body() } catch { throw wrapped(error, node) }
    }

    /// `error`, thrown by `node`'s layer, as a `GraphError` naming the node.
    static func wrapped(_ error: any Error, _ node: Node) -> GraphError {
        if let error = error as? GraphError { return error }
        return .layer(node: node.name, type: node.layer.kerasClassName, error: "\(error)")
    }

    static func checkWeights(of node: Node, inputShapes: [Shape]) throws(GraphError) {
        let expected = try wrap(node) { try node.layer.weightShapes(for: inputShapes) }
        let weights = node.layer.weights
        guard weights.count == expected.count else {
            throw .weightCount(node: node.name, expected: expected.count, actual: weights.count)
        }
        let names = node.layer.weightNames
        for (k, (w, shape)) in zip(weights, expected).enumerated() where w.shape != shape {
            throw .weightShape(
                node: node.name, weight: k < names.count ? names[k] : "#\(k)",
                expected: shape, actual: w.shape)
        }
    }

    /// Kahn's algorithm, taking the earliest ready node in the given order each time.
    private static func topologicalOrder(_ nodes: [Node], position: [String: Int]) throws(GraphError) -> [Int] {
        var pending = nodes.map { Set($0.inputs).count }
        var readers = [[Int]](repeating: [], count: nodes.count)
        for (i, node) in nodes.enumerated() {
            for input in Set(node.inputs) { readers[position[input]!].append(i) }
        }
        var ready = Heap(nodes.indices.filter { pending[$0] == 0 })
        var order: [Int] = []
        order.reserveCapacity(nodes.count)
        while let i = ready.popMin() {
            order.append(i)
            for r in readers[i] {
                pending[r] -= 1
                if pending[r] == 0 { ready.insert(r) }
            }
        }
        guard order.count == nodes.count else {
            let stuck = nodes.indices.filter { pending[$0] > 0 }.map { nodes[$0].name }
            throw .cycle(nodes: stuck)
        }
        return order
    }

    private static func sinks(of nodes: [Node]) -> [String] {
        let read = Set(nodes.flatMap(\.inputs))
        return nodes.map(\.name).filter { !read.contains($0) }
    }
}
