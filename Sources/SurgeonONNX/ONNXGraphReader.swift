import SurgeonCore

/// Turns an ONNX graph into surgeon nodes. Constants (initializers, `Constant`, `Identity` and
/// `Cast` of constants) and the shape arithmetic exporters emit are folded first, with the
/// batch size as the one unknown; every other node maps to a layer looked up in the registry
/// by its Keras class name, with weights converted from NCHW to NHWC. Nothing is built until
/// every node has mapped, and a node that does not map is refused by name, op type and opset.
struct ONNXGraphReader {
    let path: String
    let registry: LayerRegistry
    let opset: Int
    let decoder: ONNXTensorDecoder

    /// What each value name of the file stands for (set through `record`).
    private(set) var values: [String: ONNXValue] = [:]
    /// The file's value names that each surgeon node computes (`gateReaders` counts their readers).
    private var valuesOfNode: [String: [String]] = [:]
    /// The surgeon nodes built so far, in order.
    var nodes: [Node] = []
    /// How many node inputs and graph outputs read each value (fusions need a single reader).
    var readers: [String: Int] = [:]
    /// The surgeon layer of each node built, by node name.
    var layerByNode: [String: any Layer] = [:]
    /// The file's node (or graph input) name of each surgeon node, where they differ.
    private var usedNames = UniqueNames()
    /// The batch size when the file fixes it (torch's dynamo export without dynamic shapes
    /// writes 1): a Reshape target that starts with it keeps the batch.
    var fixedBatch: Int?
    /// Surgeon nodes added for a node of the file (a ZeroPadding2D before a convolution), so
    /// the writer can tell them from the file's own.
    var addedNodes: [String] = []

    init(path: String, registry: LayerRegistry, opset: Int, decoder: ONNXTensorDecoder) {
        self.path = path
        self.registry = registry
        self.opset = opset
        self.decoder = decoder
    }

    // MARK: - Values

    func value(_ name: String, _ r: ONNXNodeReader) throws(ONNXError) -> ONNXValue {
        guard let v = values[name] else {
            throw r.fail("input '\(name)' is not a graph input, an initializer or the output of an earlier node")
        }
        return v
    }

    func activation(_ name: String?, _ r: ONNXNodeReader, what: String = "input") throws(ONNXError) -> Activation {
        guard let name else { throw r.fail("the \(what) is missing") }
        switch try value(name, r) {
        case let .activation(a): return a
        case .channelGroups: throw r.fail(Self.channelGroupsMessage(name))
        case .constant, .shape:
            throw r.fail("the \(what) '\(name)' is a constant; surgeon maps this op only on computed tensors")
        }
    }

    /// An image (a rank-4 NCHW tensor of the file).
    func image(_ name: String?, _ r: ONNXNodeReader) throws(ONNXError) -> Activation {
        let a = try activation(name, r)
        guard a.layout == .channelsFirst, a.shape.count == 3 else {
            throw r.fail(
                "input '\(name ?? "")' has shape \(a.fileShape) per sample; surgeon maps \(r.op) on NCHW images "
                    + "[N, C, H, W]")
        }
        return a
    }

    /// A constant input: a weight, a bound, a shape. A computed tensor here (weights that come
    /// from the model's input) is refused.
    func constant(_ name: String?, _ r: ONNXNodeReader, what: String) throws(ONNXError) -> ONNXConstant {
        guard let name else { throw r.fail("the \(what) input is missing") }
        switch try value(name, r) {
        case let .constant(c): return c
        case let .shape(entries, scalar):
            guard let ints = Self.knownInts(entries) else {
                throw r.fail("the \(what) '\(name)' depends on the batch size (\(entries)); it must be constant")
            }
            return ONNXConstant(dims: scalar ? [] : [ints.count], ints: ints)
        case .activation, .channelGroups:
            throw r.fail(
                "the \(what) '\(name)' is computed from the model's input (dynamic weights); surgeon needs it to be a "
                    + "constant (an initializer or a Constant node)")
        }
    }

    static func knownInts(_ entries: [ShapeEntry]) -> [Int64]? {
        var result: [Int64] = []
        for e in entries {
            guard case let .known(v) = e else { return nil }
            result.append(v)
        }
        return result
    }

    // MARK: - Building nodes

    /// A unique surgeon node name for a file node: its name, else its first output's.
    mutating func uniqueName(_ wanted: String) -> String {
        usedNames.claim(wanted.isEmpty ? "node" : wanted)
    }

    func nodeName(_ r: ONNXNodeReader) -> String {
        r.node.name.isEmpty ? (r.node.output.first ?? r.op) : r.node.name
    }

    /// Adds a surgeon layer of Keras class `className` reading `inputs`, with its weights in
    /// surgeon's layout, and returns its output.
    @discardableResult
    mutating func emit(
        _ className: String, _ config: [String: ConfigValue], inputs: [Activation], weights: [Tensor] = [],
        name wanted: String, layout: Activation.Layout? = nil, added: Bool = false, _ r: ONNXNodeReader
    ) throws(ONNXError) -> Activation {
        var layer: any Layer
        do { layer = try registry.makeLayer(className: className, config: LayerConfig(config)) } catch {
            throw r.fail("as \(className): \(error)")
        }
        let shape: Shape
        do {
            shape = try layer.outputShape(for: inputs.map(\.shape))
            if !weights.isEmpty {
                let expected = try layer.weightShapes(for: inputs.map(\.shape))
                guard expected == weights.map(\.shape) else {
                    throw LayerError.weights(
                        "the weights have shapes \(weights.map(\.shape)) in surgeon's layout; expected \(expected)")
                }
                layer.weights = weights
            }
        } catch { throw r.fail("as \(className) on input shape(s) \(inputs.map(\.fileShape)): \(error)") }
        do { _ = try OutsideNumber.elementCount(of: shape, limit: Graph.maximumOutputElements) } catch {
            throw r.fail("its output \(shape) is too large: \(error)")
        }
        let name = uniqueName(wanted)
        if added { addedNodes.append(name) }
        nodes.append(Node(name, layer, inputs: inputs.map(\.node)))
        layerByNode[name] = layer
        // An element-wise layer on NCHW-ordered features (a ReLU between a Flatten and a Gemm)
        // keeps their order, so that the Dense after it still permutes its kernel.
        var inherited: Activation.Layout?
        if let first = inputs.first, case .features(permutedFrom: .some) = first.layout, first.shape == shape,
            inputs.allSatisfy({ $0.layout == first.layout })
        {
            inherited = first.layout
        }
        let outLayout: Activation.Layout =
            layout ?? inherited ?? (shape.count == 3 ? .channelsFirst : .features(permutedFrom: nil))
        return Activation(node: name, shape: shape, layout: outLayout)
    }

    /// Records `value` as output `k` of the node.
    mutating func define(_ r: ONNXNodeReader, _ value: ONNXValue, output k: Int = 0) throws(ONNXError) {
        guard k < r.node.output.count else { throw r.fail("it has no output \(k)") }
        let name = r.node.output[k]
        guard !name.isEmpty else { return }
        record(name, value)
    }

    /// Sets what the file's value `name` stands for.
    mutating func record(_ name: String, _ value: ONNXValue) {
        values[name] = value
        switch value {
        case let .activation(a), let .channelGroups(a, _, _): valuesOfNode[a.node, default: []].append(name)
        case .constant, .shape: break
        }
    }

    /// How many node inputs and graph outputs read the surgeon node `node` (through the file
    /// values it computes): a fusion that rewrites `node` needs exactly one.
    func gateReaders(_ node: String) -> Int {
        (valuesOfNode[node] ?? []).reduce(0) { $0 + (readers[$1] ?? 0) }
    }

    /// The position of the surgeon node `name` in `nodes`, searched from the end (a fusion
    /// rewrites a node just built).
    func nodeIndex(_ name: String) -> Int? {
        nodes.lastIndex { $0.name == name }
    }

    /// Refuses outputs beyond the first that something reads (an optional second output, such
    /// as MaxPool's indices or BatchNormalization's running statistics).
    func requireSingleOutput(_ r: ONNXNodeReader) throws(ONNXError) {
        for name in r.node.output.dropFirst() where !name.isEmpty && (readers[name] ?? 0) > 0 {
            throw r.fail("its output '\(name)' is read; surgeon maps only the first output of \(r.op)")
        }
    }
}
