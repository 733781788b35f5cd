import Foundation
import SurgeonCore
import SurgeonFormats
import SwiftProtobuf

/// Reads ONNX models (IR 3–14, `ai.onnx` opsets 7–28, as onnxruntime 1.32 loads) into surgeon's
/// NHWC graph, and writes them back as NCHW files that onnxruntime runs.
///
/// A model file reads nothing but itself and its external data, which must be regular files
/// inside the model's folder (`ExternalDataPath`). Every declared size is checked against the
/// bytes present before anything is allocated.
public enum ONNXModelFile {
    /// The IR versions and `ai.onnx` opsets read.
    public static let irVersions = 3...14
    public static let opsets = 7...28

    /// Reads the `.onnx` file at `url`.
    public static func load(contentsOf url: URL, registry: LayerRegistry) throws(ONNXError) -> ModelContents {
        let bytes: Data
        do { bytes = try RegularFile.read(url.path) } catch {
            throw .unreadable(path: url.path, reason: "\(error)")
        }
        return try decode(bytes, model: url, registry: registry)
    }

    /// Decodes the bytes of a model file; `model` locates its external data and names it in errors.
    public static func decode(_ bytes: Data, model: URL, registry: LayerRegistry) throws(ONNXError) -> ModelContents {
        let path = model.path
        let proto: Onnx_ModelProto
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 64
            proto = try Onnx_ModelProto(serializedBytes: bytes, options: options)
        } catch {
            throw .notONNX(
                path: path, reason: "the protobuf cannot be decoded (\(error)); the file is truncated or not ONNX")
        }
        let opset = try checkVersions(proto, path: path)
        guard proto.functions.isEmpty else {
            throw .model(
                path: path,
                message: "the model defines \(proto.functions.count) local functions, which surgeon does not read")
        }
        let graph = proto.graph
        guard proto.hasGraph, !graph.node.isEmpty else {
            throw .model(path: path, message: "the model has no graph nodes")
        }
        guard graph.sparseInitializer.isEmpty else {
            throw .model(path: path, message: "sparse initializers are not supported")
        }
        let decoder = ONNXTensorDecoder(model: model)
        var reader = ONNXGraphReader(path: path, registry: registry, opset: opset, decoder: decoder)
        var initializerNames: Set<String> = []
        for tensor in graph.initializer {
            guard !tensor.name.isEmpty, initializerNames.insert(tensor.name).inserted else {
                throw .model(path: path, message: "initializer '\(tensor.name)' is unnamed or defined twice")
            }
            reader.record(tensor.name, .constant(try decoder.decode(tensor, name: tensor.name)))
        }
        // `Shape` reads only a tensor's static shape, so it does not count as a reader for fusions.
        for node in graph.node where node.opType != "Shape" {
            for name in node.input where !name.isEmpty { reader.readers[name, default: 0] += 1 }
        }
        for output in graph.output { reader.readers[output.name, default: 0] += 1 }
        var border = try reader.readInput(graph, initializers: initializerNames)
        let defined = initializerNames.union(graph.input.map(\.name))
        for i in try ONNXGraphReader.sorted(graph, defined: defined, path: path) {
            try reader.map(ONNXNodeReader(node: graph.node[i], index: i, opset: opset, path: path))
        }
        var outputNodes: [String] = []
        for output in graph.output {
            guard case let .activation(a)? = reader.values[output.name] else {
                throw .model(path: path, message: "graph output '\(output.name)' is not computed from the input")
            }
            if case .features(permutedFrom: .some) = a.layout {
                throw .model(
                    path: path,
                    message:
                        "graph output '\(output.name)' is an image flattened in NCHW order; surgeon needs a layer after it"
                )
            }
            guard a.layout != .channelsLast else {
                throw .model(
                    path: path, message: "graph output '\(output.name)' is an NHWC image, which surgeon does not write")
            }
            guard !outputNodes.contains(a.node) else {
                throw .model(path: path, message: "graph output '\(output.name)' repeats another output")
            }
            outputNodes.append(a.node)
            border.outputs.append((output.name, a.node, a.layout))
        }
        guard !outputNodes.isEmpty else { throw .model(path: path, message: "the graph has no outputs") }
        let built: Graph
        do {
            built = try Graph(nodes: reader.nodes, outputs: outputNodes, initialization: .refuse)
        } catch { throw .model(path: path, message: "the mapped graph is not valid: \(error)") }
        var origin = ONNXOrigin(
            inputName: border.inputName, inputLayout: border.inputLayout == .channelsLast ? "NHWC" : "NCHW",
            batchParameter: border.batchParameter, batchValue: border.batchValue,
            outputNames: border.outputs.map(\.name),
            irVersion: Int(proto.irVersion), opset: opset, producer: proto.producerName, graphName: graph.name)
        origin.outputBatchParameters = graph.output.map { output -> String? in
            guard case .tensorType(let type)? = output.type.value, type.hasShape, let first = type.shape.dim.first,
                case .dimParam(let name)? = first.value
            else { return nil }
            return name
        }
        var metadata: [String: ConfigValue] = [ONNXOrigin.metadataKey: origin.metadataValue]
        if border.inputLayout == .channelsFirst {
            metadata[DataLayout.metadataKey] = .string(DataLayout.channelsFirst.rawValue)
        }
        return ModelContents(graph: built, metadata: metadata)
    }

    /// The `ai.onnx` opset, after checking the IR version and every imported domain.
    private static func checkVersions(_ proto: Onnx_ModelProto, path: String) throws(ONNXError) -> Int {
        guard proto.hasIrVersion else {
            throw .model(path: path, message: "the model has no IR version (ir_version); accepted: \(irVersions)")
        }
        guard irVersions.contains(Int(clamping: proto.irVersion)) else {
            throw .model(
                path: path,
                message: "IR version \(proto.irVersion) is not supported; surgeon reads IR versions \(irVersions)")
        }
        guard let standard = proto.opsetImport.first(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" }) else {
            throw .model(
                path: path,
                message:
                    "the model imports no ai.onnx opset (imports: \(proto.opsetImport.map { "\($0.domain) \($0.version)" }))"
            )
        }
        guard opsets.contains(Int(clamping: standard.version)) else {
            throw .model(
                path: path,
                message: "ai.onnx opset \(standard.version) is not supported; surgeon reads opsets \(opsets)")
        }
        return Int(standard.version)
    }
}
