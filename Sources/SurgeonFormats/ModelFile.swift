import Foundation
import SurgeonCore

/// surgeon's native single-file model format (`.surgeon`): the graph, its weights, metadata,
/// and optional extra tensors (a checkpoint's optimizer state), round-tripping bit-exactly.
///
/// Layout, little-endian:
/// ```
/// 0   "SURGEON\0"            8-byte magic
/// 8   format version         UInt32
/// 12  reserved (0)           UInt32
/// 16  header length H        UInt64 (bytes of UTF-8 JSON)
/// 24  data length D          UInt64 (bytes of float32 data)
/// 32  checksum               UInt64 (over header and data, see `checksum`)
/// 40  header                 JSON: nodes (name, class_name, config, inputs, weights), outputs,
///                            metadata, extra tensors; tensors give shape and offset into data
/// 40+H data                  float32 values
/// ```
/// Layers are stored with their Keras class name and Keras config, and read back through a
/// `LayerRegistry`, so a layer type registered by user code round-trips too.
public enum ModelFile {
    /// The version this build writes; it reads this version only.
    public static let formatVersion: UInt32 = 1
    static let magic: [UInt8] = Array("SURGEON\0".utf8)
    static let prefixSize = 40

    /// What a model file holds (the core's `ModelContents`).
    public typealias Contents = ModelContents

    struct TensorEntry: Codable {
        var name: String
        var shape: [Int]
        var offset: Int
    }

    struct NodeEntry: Codable {
        var name: String
        var class_name: String
        var config: LayerConfig
        var inputs: [String]
        var weights: [TensorEntry]
    }

    struct Header: Codable {
        var format_version: UInt32
        var nodes: [NodeEntry]
        var outputs: [String]
        var metadata: [String: ConfigValue]
        var extra_tensors: [TensorEntry]
    }

    // MARK: - Writing

    /// Encodes the contents to bytes.
    public static func encode(_ contents: Contents) throws(ModelFileError) -> Data {
        var data: [Float] = []
        func entry(_ name: String, _ tensor: Tensor) -> TensorEntry {
            defer { data.append(contentsOf: tensor.scalars) }
            return TensorEntry(name: name, shape: tensor.shape, offset: data.count)
        }
        let graph = contents.graph
        let nodes = graph.nodes.map { node in
            NodeEntry(
                name: node.name, class_name: node.layer.kerasClassName, config: node.layer.config, inputs: node.inputs,
                weights: zip(node.layer.weights, paddedNames(node.layer)).map { entry($1, $0) })
        }
        let extras = contents.extraTensors.map { entry($0.name, $0.tensor) }
        let header = Header(
            format_version: formatVersion, nodes: nodes, outputs: graph.outputNames,
            metadata: contents.metadata, extra_tensors: extras)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let headerBytes: Data
        do { headerBytes = try encoder.encode(header) } catch {
            throw .invalidContents("cannot encode the header: \(error)")
        }
        var out = Data(capacity: prefixSize + headerBytes.count + data.count * 4)
        out.append(contentsOf: magic)
        out.appendLittleEndian(formatVersion)
        out.appendLittleEndian(UInt32(0))
        out.appendLittleEndian(UInt64(headerBytes.count))
        out.appendLittleEndian(UInt64(data.count * 4))
        let dataBytes = data.withUnsafeBytes { Data($0) }
        out.appendLittleEndian(checksum(headerBytes, dataBytes))
        out.append(headerBytes)
        out.append(dataBytes)
        return out
    }

    /// Writes the file atomically (temporary file + rename).
    public static func save(_ contents: Contents, to url: URL) throws(ModelFileError) {
        let bytes = try encode(contents)
        do { try AtomicFile.write(bytes, to: url) } catch { throw .write(error) }
    }

    /// Saves a graph with optional metadata.
    public static func save(_ graph: Graph, metadata: [String: ConfigValue] = [:], to url: URL) throws(ModelFileError) {
        try save(Contents(graph: graph, metadata: metadata), to: url)
    }

    // MARK: - Reading

    /// Reads a model file; layer types are looked up in `registry`.
    public static func load(contentsOf url: URL, registry: LayerRegistry) throws(ModelFileError) -> Contents {
        let bytes: Data
        do { bytes = try Data(contentsOf: url) } catch {
            throw .unreadable(path: url.path, reason: ReadableError.reading(error))
        }
        return try decode(bytes, source: url.path, registry: registry)
    }

    /// Decodes bytes; `source` names the file in errors.
    public static func decode(_ bytes: Data, source: String, registry: LayerRegistry) throws(ModelFileError) -> Contents
    {
        guard bytes.count >= 8, Array(bytes.prefix(8)) == magic else {
            throw .notAModelFile(path: source)
        }
        guard bytes.count >= prefixSize else {
            throw .truncated(path: source, expected: prefixSize, actual: bytes.count)
        }
        let version: UInt32 = bytes.readLittleEndian(at: 8)
        guard version == formatVersion else {
            throw .unsupportedVersion(path: source, version: version, supported: formatVersion)
        }
        let headerLength: UInt64 = bytes.readLittleEndian(at: 16)
        let dataLength: UInt64 = bytes.readLittleEndian(at: 24)
        let storedChecksum: UInt64 = bytes.readLittleEndian(at: 32)
        let available = UInt64(bytes.count - prefixSize)
        guard headerLength <= available, dataLength <= available - headerLength else {
            // Lengths from the file may be near 2^64: their sum saturates instead of overflowing.
            let needed = [UInt64(prefixSize), headerLength, dataLength].reduce(UInt64(0)) { total, length in
                let (sum, overflow) = total.addingReportingOverflow(length)
                return overflow ? .max : sum
            }
            throw .truncated(
                path: source, expected: Int(clamping: needed),
                actual: bytes.count)
        }
        guard dataLength % 4 == 0 else {
            throw .corrupt(path: source, reason: "the data length \(dataLength) is not a multiple of 4")
        }
        let start = bytes.startIndex + prefixSize
        let headerBytes = bytes[start..<(start + Int(headerLength))]
        let dataBytes = bytes[(start + Int(headerLength))..<(start + Int(headerLength) + Int(dataLength))]
        guard checksum(headerBytes, dataBytes) == storedChecksum else {
            throw .corrupt(
                path: source, reason: "checksum mismatch (the file was changed or damaged after it was written)")
        }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: headerBytes) } catch {
            throw .corrupt(path: source, reason: "the header is not valid: \(ReadableError.decoding(error))")
        }
        let floats: [Float] = dataBytes.withUnsafeBytes { raw in
            var out = [Float](repeating: 0, count: Int(dataLength) / 4)
            out.withUnsafeMutableBytes { $0.copyMemory(from: raw) }
            return out
        }
        func tensor(_ entry: TensorEntry, owner: String) throws(ModelFileError) -> Tensor {
            let count: Int
            do { count = try OutsideNumber.elementCount(of: entry.shape) } catch {
                throw .corrupt(path: source, reason: "\(owner): tensor '\(entry.name)': \(error)")
            }
            guard entry.offset >= 0, count >= 0, entry.offset <= floats.count, count <= floats.count - entry.offset
            else {
                throw .corrupt(path: source, reason: "\(owner): tensor '\(entry.name)' lies outside the data")
            }
            do {
                return try Tensor(shape: entry.shape, scalars: Array(floats[entry.offset..<(entry.offset + count)]))
            } catch {
                throw .corrupt(path: source, reason: "\(owner): \(error)")
            }
        }
        var nodes: [Node] = []
        for entry in header.nodes {
            var layer: any Layer
            do { layer = try registry.makeLayer(className: entry.class_name, config: entry.config) } catch {
                throw .layer(path: source, node: entry.name, reason: "\(error)")
            }
            var weights: [Tensor] = []
            for w in entry.weights { weights.append(try tensor(w, owner: "node '\(entry.name)'")) }
            layer.weights = weights
            nodes.append(Node(entry.name, layer, inputs: entry.inputs))
        }
        let graph: Graph
        do { graph = try Graph(nodes: nodes, outputs: header.outputs, initialization: .refuse) } catch {
            throw .invalidGraph(path: source, error: error)
        }
        // A layer whose weights were absent would have been freshly initialised: refuse that.
        for (entry, node) in zip(header.nodes, header.nodes.map { graph[$0.name]! })
        where entry.weights.count != node.layer.weights.count {
            throw .corrupt(
                path: source,
                reason:
                    "node '\(entry.name)' stores \(entry.weights.count) weights, its layer needs "
                    + "\(node.layer.weights.count)"
            )
        }
        var extras: [(name: String, tensor: Tensor)] = []
        for e in header.extra_tensors { extras.append((e.name, try tensor(e, owner: "extra tensors"))) }
        return Contents(graph: graph, metadata: header.metadata, extraTensors: extras)
    }

    /// A 64-bit checksum over 8-byte words (multiply-rotate mixing); fast enough for 100 MB
    /// files and sensitive to any changed, dropped or swapped word.
    static func checksum(_ header: Data, _ data: Data) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for part in [header, data] {
            part.withUnsafeBytes { raw in
                let words = raw.count / 8
                for i in 0..<words {
                    let w = raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                    h = (h ^ w) &* 0x9E37_79B9_7F4A_7C15
                    h = (h << 31) | (h >> 33)
                }
                var tail: UInt64 = 0
                for i in (words * 8)..<raw.count { tail = (tail << 8) | UInt64(raw[i]) }
                h = (h ^ tail ^ UInt64(raw.count)) &* 0xC2B2_AE3D_27D4_EB4F
                h ^= h >> 29
            }
        }
        return h
    }

    private static func paddedNames(_ layer: any Layer) -> [String] {
        let names = layer.weightNames
        return layer.weights.indices.map { $0 < names.count ? names[$0] : "weight_\($0)" }
    }
}

/// A model file could not be read or written; every case names the file.
public enum ModelFileError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notAModelFile(path: String)
    case unsupportedVersion(path: String, version: UInt32, supported: UInt32)
    case truncated(path: String, expected: Int, actual: Int)
    case corrupt(path: String, reason: String)
    case layer(path: String, node: String, reason: String)
    case invalidGraph(path: String, error: GraphError)
    case invalidContents(String)
    case write(FileWriteError)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read \(path): \(reason)"
        case let .notAModelFile(path):
            return
                "\(path) is not a surgeon model file (it does not start with the SURGEON magic bytes); expected a "
                + ".surgeon file written by `surgeon new` or `surgeon train`"
        case let .unsupportedVersion(path, version, supported):
            return
                "\(path) has model format version \(version); this surgeon reads version \(supported). Re-save it with "
                + "a surgeon of that version"
        case let .truncated(path, expected, actual):
            return "\(path) is truncated: it should hold \(expected) bytes but has \(actual)"
        case let .corrupt(path, reason):
            return "\(path) is corrupt: \(reason)"
        case let .layer(path, node, reason):
            return "\(path): node '\(node)': \(reason)"
        case let .invalidGraph(path, error):
            return "\(path): \(error)"
        case let .invalidContents(message):
            return message
        case let .write(error):
            return error.description
        }
    }
}

extension Data {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    func readLittleEndian<T: FixedWidthInteger>(at offset: Int) -> T {
        withUnsafeBytes { raw in T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}
