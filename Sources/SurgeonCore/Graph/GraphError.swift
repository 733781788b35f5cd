/// A graph is inconsistent or a node of it failed; every case names the node at fault.
public enum GraphError: Error, CustomStringConvertible {
    case empty
    case duplicateName(String)
    case unknownInput(node: String, input: String)
    case cycle(nodes: [String])
    case unknownOutput(String)
    case layer(node: String, type: String, error: String)
    case weightShape(node: String, weight: String, expected: Shape, actual: Shape)
    case weightCount(node: String, expected: Int, actual: Int)
    case inputCount(expected: Int, actual: Int)
    case inputShape(node: String, expected: Shape, actual: Shape)
    /// A pass over the batch would need more memory for activations than the budget allows.
    case activationMemory(node: String, type: String, error: MemoryBudgetError)

    public var description: String {
        switch self {
        case .empty:
            return "the graph has no nodes"
        case let .duplicateName(name):
            return "two nodes are named '\(name)'; node names must be unique"
        case let .unknownInput(node, input):
            return "node '\(node)' reads '\(input)', which is not a node of the graph"
        case let .cycle(nodes):
            return "the graph has a cycle through \(nodes.map { "'\($0)'" }.joined(separator: ", "))"
        case let .unknownOutput(name):
            return "the output '\(name)' is not a node of the graph"
        case let .layer(node, type, error):
            return "node '\(node)' (\(type)): \(error)"
        case let .weightShape(node, weight, expected, actual):
            return "node '\(node)': weight '\(weight)' has shape \(actual), expected \(expected)"
        case let .weightCount(node, expected, actual):
            return "node '\(node)' has \(actual) weight arrays, expected \(expected)"
        case let .inputCount(expected, actual):
            return "the graph takes \(expected) input tensor(s), got \(actual)"
        case let .inputShape(node, expected, actual):
            return "input '\(node)' expects samples of shape \(expected), got \(actual)"
        case let .activationMemory(node, type, error):
            return "node '\(node)' (\(type)): \(error); a smaller batch needs proportionally less"
        }
    }
}
