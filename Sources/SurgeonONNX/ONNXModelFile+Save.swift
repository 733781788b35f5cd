import Foundation
import SurgeonCore
import SurgeonFormats
import SwiftProtobuf

extension ONNXModelFile {
    /// The bytes of an ONNX file holding the model (NCHW, opset 17 unless Mish or Gelu need 18 or 20).
    public static func encode(_ contents: ModelContents, source: String = "the ONNX file") throws(ONNXError) -> Data {
        var writer = ONNXGraphWriter(
            graph: contents.graph, path: source, origin: ONNXOrigin(metadata: contents.metadata))
        var model = Onnx_ModelProto()
        let version = ONNXGraphWriter.opset(for: contents.graph)
        model.irVersion = Int64(ONNXGraphWriter.irVersion(for: version))
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Int64(version)
        model.opsetImport = [opset]
        model.producerName = "surgeon"
        model.producerVersion = "1"
        model.graph = try writer.write()
        do {
            let bytes: Data = try model.serializedBytes()
            // protobuf cannot hold a message of 2 GiB or more (ONNX-FORMAT.md 1.8).
            guard bytes.count < Int(Int32.max) else {
                throw ONNXError.write(
                    path: source, reason: "the model would take \(bytes.count) bytes, beyond protobuf's 2 GiB")
            }
            return bytes
        } catch let error as ONNXError {
            throw error
        } catch {
            throw .write(path: source, reason: "\(error)")
        }
    }

    /// Writes an `.onnx` file atomically (temporary file + rename): on failure nothing is left.
    public static func save(_ contents: ModelContents, to url: URL) throws(ONNXError) {
        let bytes = try encode(contents, source: url.path)
        do { try AtomicFile.write(bytes, to: url) } catch {
            throw .write(path: url.path, reason: error.reason)
        }
    }
}
