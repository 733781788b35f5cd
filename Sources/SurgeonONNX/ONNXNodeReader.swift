import SurgeonCore

/// One node of the file as the reader sees it: its name for messages (the node name, or its op
/// type and position when it has none) and checked access to its attributes. Every integer
/// attribute is bounded by `OutsideNumber` before it sizes anything.
struct ONNXNodeReader {
    let node: Onnx_NodeProto
    /// The node's position in the graph.
    let index: Int
    /// The `ai.onnx` opset the node is read at.
    let opset: Int
    let path: String

    var op: String { node.opType }

    /// The node name, or "OpType #index" when it has none.
    var displayName: String { node.name.isEmpty ? "\(node.opType) #\(index)" : node.name }

    func fail(_ message: String) -> ONNXError {
        .node(path: path, node: displayName, op: op, opset: opset, message: message)
    }

    private func attribute(_ name: String) -> Onnx_AttributeProto? {
        node.attribute.first { $0.name == name }
    }

    func has(_ name: String) -> Bool { attribute(name) != nil }

    private func typed(
        _ name: String, _ type: Onnx_AttributeProto.AttributeType
    ) throws(ONNXError) -> Onnx_AttributeProto? {
        guard let a = attribute(name) else { return nil }
        guard a.type == type || (a.type == .undefined && Self.looksLike(a, type)) else {
            throw fail("attribute '\(name)' is of type \(a.type); expected \(type)")
        }
        return a
    }

    /// An attribute without `type` (old files) is accepted when only the expected field is set.
    private static func looksLike(_ a: Onnx_AttributeProto, _ type: Onnx_AttributeProto.AttributeType) -> Bool {
        switch type {
        case .int: return a.hasI
        case .float: return a.hasF
        case .string: return a.hasS
        case .ints: return !a.ints.isEmpty
        case .floats: return !a.floats.isEmpty
        case .tensor: return a.hasT
        default: return false
        }
    }

    func int(
        _ name: String, default value: Int? = nil,
        in range: ClosedRange<Int> = -OutsideNumber.largestSize...OutsideNumber.largestSize
    ) throws(ONNXError) -> Int {
        guard let a = try typed(name, .int) else {
            guard let value else { throw fail("the required attribute '\(name)' is missing") }
            return value
        }
        return try bounded(a.i, name: name, range: range)
    }

    func ints(
        _ name: String, default value: [Int]? = nil,
        in range: ClosedRange<Int> = -OutsideNumber.largestSize...OutsideNumber.largestSize
    ) throws(ONNXError) -> [Int] {
        guard let a = try typed(name, .ints) else {
            guard let value else { throw fail("the required attribute '\(name)' is missing") }
            return value
        }
        var result: [Int] = []
        for v in a.ints { result.append(try bounded(v, name: name, range: range)) }
        return result
    }

    func float(_ name: String, default value: Float) throws(ONNXError) -> Float {
        guard let a = try typed(name, .float) else { return value }
        guard a.f.isFinite else { throw fail("attribute '\(name)' is \(a.f); expected a finite number") }
        return a.f
    }

    func string(_ name: String, default value: String) throws(ONNXError) -> String {
        guard let a = try typed(name, .string) else { return value }
        return String(decoding: a.s, as: UTF8.self)
    }

    func tensorAttribute(_ name: String) throws(ONNXError) -> Onnx_TensorProto? {
        try typed(name, .tensor)?.t
    }

    private func bounded(_ v: Int64, name: String, range: ClosedRange<Int>) throws(ONNXError) -> Int {
        guard v >= Int64(range.lowerBound), v <= Int64(range.upperBound) else {
            throw fail("attribute '\(name)' is \(v); accepted: \(OutsideNumber.describe(range))")
        }
        return Int(v)
    }

    /// Refuses attributes the mapping does not read (so that nothing changes the op's meaning
    /// unnoticed); `known` lists those it does.
    func checkAttributes(_ known: Set<String>) throws(ONNXError) {
        for a in node.attribute where !known.contains(a.name) {
            throw fail(
                "attribute '\(a.name)' is not supported for \(op); supported: \(known.sorted().joined(separator: ", "))"
            )
        }
    }

    /// The node's inputs, with optional ones given as "" left in place.
    var inputs: [String] { node.input }

    /// Input `i`, or nil when absent or "".
    func input(_ i: Int) -> String? {
        i < node.input.count && !node.input[i].isEmpty ? node.input[i] : nil
    }
}
