import Foundation

/// Small constructors for the protobuf messages the writer emits, with every attribute's
/// `type` set (the checker and onnxruntime refuse attributes without it).
enum ONNXProto {
    static func attribute(_ name: String, int value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(value)
        return a
    }

    static func attribute(_ name: String, ints values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values.map { Int64($0) }
        return a
    }

    static func attribute(_ name: String, float value: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .float
        a.f = value
        return a
    }

    static func attribute(_ name: String, string value: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .string
        a.s = Data(value.utf8)
        return a
    }

    /// A FLOAT tensor in little-endian `raw_data`.
    static func tensor(_ name: String, dims: [Int], floats: [Float]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims.map { Int64($0) }
        t.dataType = 1
        var data = Data(capacity: floats.count * 4)
        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        t.rawData = data
        return t
    }

    /// An INT64 tensor in little-endian `raw_data`.
    static func tensor(_ name: String, dims: [Int], ints: [Int]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims.map { Int64($0) }
        t.dataType = 7
        var data = Data(capacity: ints.count * 8)
        for i in ints { withUnsafeBytes(of: Int64(i).littleEndian) { data.append(contentsOf: $0) } }
        t.rawData = data
        return t
    }

    /// A FLOAT graph input or output of `dims`, whose first entry is the batch: a `dim_param`
    /// name or a fixed size.
    static func valueInfo(_ name: String, batch: Batch, dims: [Int]) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = 1
        var shape = Onnx_TensorShapeProto()
        var first = Onnx_TensorShapeProto.Dimension()
        switch batch {
        case let .parameter(p): first.dimParam = p
        case let .fixed(n): first.dimValue = Int64(n)
        }
        shape.dim =
            [first]
            + dims.map { d in
                var dim = Onnx_TensorShapeProto.Dimension()
                dim.dimValue = Int64(d)
                return dim
            }
        tensorType.shape = shape
        v.type.tensorType = tensorType
        return v
    }

    /// The batch dimension of the graph's input and outputs.
    enum Batch {
        case parameter(String)
        case fixed(Int)
    }
}
