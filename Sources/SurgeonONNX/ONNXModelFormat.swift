import Foundation
import SurgeonCore
import SurgeonFormats

/// ONNX `.onnx` files, read and written.
public struct ONNXModelFormat: ModelFormat {
    public init() {}
    public var name: String { "ONNX" }
    public var extensions: [String] { ["onnx"] }

    public func read(contentsOf url: URL, registry: LayerRegistry) throws -> ModelContents {
        try ONNXModelFile.load(contentsOf: url, registry: registry)
    }

    public func write(_ contents: ModelContents, to url: URL) throws {
        try ONNXModelFile.save(contents, to: url)
    }
}

extension ModelFormatRegistry {
    /// Adds `.onnx` (read and write).
    public mutating func registerONNX() throws(RegistryError) {
        try register(ONNXModelFormat())
    }
}
