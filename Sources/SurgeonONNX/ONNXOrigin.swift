import SurgeonCore

/// What surgeon keeps of an ONNX file to write the model back as a drop-in replacement: the
/// input's name, layout and batch dimension, the output names, the opset and producer. Stored
/// in the model's metadata under `onnx`, so it survives pruning, training and `.surgeon` files.
struct ONNXOrigin: Equatable {
    static let metadataKey = "onnx"

    var inputName: String
    /// "NCHW" (torch) or "NHWC" (tf2onnx: an NHWC input transposed inside).
    var inputLayout: String
    var batchParameter: String?
    var batchValue: Int?
    /// Output names of the file, parallel to the graph's outputs.
    var outputNames: [String]
    /// Each output's batch `dim_param` where it differs from the input's (tf2onnx names them
    /// `unk__73`, `unk__74`, ...), parallel to `outputNames`; empty when they all agree.
    var outputBatchParameters: [String?] = []
    var irVersion: Int
    var opset: Int
    var producer: String
    var graphName: String

    var metadataValue: ConfigValue {
        var o: [String: ConfigValue] = [
            "input": .string(inputName), "input_layout": .string(inputLayout),
            "outputs": .array(outputNames.map { .string($0) }), "ir_version": .number(Double(irVersion)),
            "opset": .number(Double(opset)), "producer": .string(producer), "graph_name": .string(graphName),
        ]
        if let batchParameter { o["batch_param"] = .string(batchParameter) }
        if let batchValue { o["batch_value"] = .number(Double(batchValue)) }
        if outputBatchParameters.contains(where: { $0 != nil && $0 != batchParameter }) {
            o["output_batch_params"] = .array(outputBatchParameters.map { $0.map(ConfigValue.string) ?? .null })
        }
        return .object(o)
    }

    init(
        inputName: String, inputLayout: String, batchParameter: String?, batchValue: Int?, outputNames: [String],
        irVersion: Int, opset: Int, producer: String, graphName: String
    ) {
        self.inputName = inputName
        self.inputLayout = inputLayout
        self.batchParameter = batchParameter
        self.batchValue = batchValue
        self.outputNames = outputNames
        self.irVersion = irVersion
        self.opset = opset
        self.producer = producer
        self.graphName = graphName
    }

    /// The origin stored in `metadata`, or nil when the model did not come from ONNX (or the
    /// entry is damaged, in which case the writer uses its defaults).
    init?(metadata: [String: ConfigValue]) {
        guard case let .object(o)? = metadata[Self.metadataKey], let input = o["input"]?.stringValue,
            let layout = o["input_layout"]?.stringValue, layout == "NCHW" || layout == "NHWC",
            case let .array(outputs)? = o["outputs"]
        else { return nil }
        inputName = input
        inputLayout = layout
        batchParameter = o["batch_param"]?.stringValue
        batchValue = o["batch_value"]?.intValue.flatMap { $0 >= 1 && $0 <= OutsideNumber.largestSize ? $0 : nil }
        outputNames = outputs.compactMap(\.stringValue)
        if case let .array(params)? = o["output_batch_params"], params.count == outputNames.count {
            outputBatchParameters = params.map(\.stringValue)
        }
        irVersion = o["ir_version"]?.intValue ?? 8
        opset = o["opset"]?.intValue ?? 17
        producer = o["producer"]?.stringValue ?? ""
        graphName = o["graph_name"]?.stringValue ?? ""
    }
}
