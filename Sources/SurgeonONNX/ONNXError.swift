import SurgeonFormats

/// An ONNX file could not be read or written. Every case names the file; node errors also name
/// the node, its op type and the opset it was read at, and say what surgeon accepts.
public enum ONNXError: Error, CustomStringConvertible {
    /// The file could not be read at all (missing, a directory, a permission).
    case unreadable(path: String, reason: String)
    /// The bytes are not an ONNX model (garbage, truncated protobuf).
    case notONNX(path: String, reason: String)
    /// A model-level problem: IR version, opsets, inputs and outputs, functions.
    case model(path: String, message: String)
    /// A node surgeon cannot map: an unsupported op, attribute or input.
    case node(path: String, node: String, op: String, opset: Int, message: String)
    /// A tensor (initializer or Constant) whose data or declared size is wrong.
    case tensor(path: String, tensor: String, message: String)
    /// External data that is missing, truncated or points outside the model's folder.
    case externalData(tensor: String, ExternalDataError)
    /// A layer of the model that cannot be written as ONNX.
    case layer(path: String, layer: String, type: String, message: String)
    /// The file could not be written.
    case write(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read the ONNX file: \(reason)"
        case let .notONNX(path, reason): return "\(path): not an ONNX model file: \(reason)"
        case let .model(path, message): return "\(path): \(message)"
        case let .node(path, node, op, opset, message):
            return "\(path): node '\(node)' (\(op), opset \(opset)): \(message)"
        case let .tensor(path, tensor, message): return "\(path): tensor '\(tensor)': \(message)"
        case let .externalData(tensor, error): return "tensor '\(tensor)': \(error)"
        case let .layer(path, layer, type, message):
            return "\(path): layer '\(layer)' (\(type)) cannot be written as ONNX: \(message)"
        case let .write(path, reason): return "\(path): cannot write the ONNX file: \(reason)"
        }
    }
}
