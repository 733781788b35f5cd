@testable import SurgeonONNX

/// Small ONNX models built in code for the reader tests: one input `input` with a `N` batch,
/// the given nodes, outputs (per-sample file shapes) and initializers.
enum ONNXTestModel {
    static func model(
        irVersion: Int64 = 8, opset: Int64 = 17, input: [Int], nodes: [Onnx_NodeProto], outputs: [(String, [Int])],
        initializers: [Onnx_TensorProto] = []
    ) -> Onnx_ModelProto {
        var m = Onnx_ModelProto()
        m.irVersion = irVersion
        var o = Onnx_OperatorSetIdProto()
        o.version = opset
        m.opsetImport = [o]
        var g = Onnx_GraphProto()
        g.name = "g"
        g.input = [ONNXProto.valueInfo("input", batch: .parameter("N"), dims: input)]
        g.output = outputs.map { ONNXProto.valueInfo($0.0, batch: .parameter("N"), dims: $0.1) }
        g.initializer = initializers
        g.node = nodes
        m.graph = g
        return m
    }

    static func node(
        _ op: String, _ name: String, inputs: [String], outputs: [String], attributes: [Onnx_AttributeProto] = []
    ) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = name
        n.input = inputs
        n.output = outputs
        n.attribute = attributes
        return n
    }
}
