/// Builds a graph node by node, functional-API style: each `add` returns the new node's name,
/// which later nodes take as an input.
///
/// ```swift
/// var b = GraphBuilder()
/// let x = b.add(InputLayer(shape: [28, 28, 1]), name: "input")
/// let y = b.add(Conv2D(filters: 8, kernelSize: [3, 3]), name: "conv", inputs: [x])
/// let graph = try b.build(outputs: [y], seed: 1)
/// ```
public struct GraphBuilder: Sendable {
    public private(set) var nodes: [Node] = []
    private var used: [String: Int] = [:]

    public init() {}

    /// Adds a node; without a name, one is made from the Keras class name (`conv2d_3`).
    @discardableResult
    public mutating func add(_ layer: any Layer, name: String? = nil, inputs: [String] = []) -> String {
        let base = name ?? GraphBuilder.snakeCase(layer.kerasClassName)
        var unique = base
        if let n = used[base] {
            unique = "\(base)_\(n)"
            used[base] = n + 1
        } else {
            used[base] = 1
        }
        nodes.append(Node(unique, layer, inputs: inputs))
        return unique
    }

    /// The graph, with fresh weights drawn from `seed` for layers that have none.
    public func build(outputs: [String], seed: UInt64 = 0) throws(GraphError) -> Graph {
        try Graph(nodes: nodes, outputs: outputs, seed: seed)
    }

    /// `BatchNormalization` -> `batch_normalization`, `Conv2D` -> `conv2d`, as Keras names layers.
    static func snakeCase(_ name: String) -> String {
        var out = ""
        let chars = Array(name)
        for (i, ch) in chars.enumerated() {
            if ch.isUppercase, i > 0,
                chars[i - 1].isLowercase
                    || (i + 1 < chars.count && chars[i + 1].isLowercase && chars[i - 1].isLetter
                        && !chars[i - 1].isNumber)
            {
                if !(chars[i - 1].isUppercase && (i + 1 >= chars.count || !chars[i + 1].isLowercase)) {
                    out.append("_")
                }
            }
            out.append(Character(ch.lowercased()))
        }
        return out
    }
}
