import Foundation
import SurgeonCore

/// A model file format, chosen by file extension: the native `.surgeon` format here, Keras's
/// `.keras` and `.h5` in `SurgeonKeras`, more in other format modules. A format module adds
/// itself to a `ModelFormatRegistry`; commands and the pipeline only ever talk to the registry.
public protocol ModelFormat: Sendable {
    /// A short name for messages and listings ("Keras 3").
    var name: String { get }
    /// The lower-case file extensions it claims, without the dot (`["keras"]`).
    var extensions: [String] { get }
    /// Why it cannot write, or nil when it can (legacy `.h5` is read-only).
    var writeRefusal: String? { get }
    /// Reads a model; layer types are looked up in `registry` by their stored class name.
    func read(contentsOf url: URL, registry: LayerRegistry) throws -> ModelContents
    /// Writes a model atomically (a temporary file renamed into place).
    func write(_ contents: ModelContents, to url: URL) throws
}

extension ModelFormat {
    public var writeRefusal: String? { nil }
}

/// The native format (`ModelFile`), used for `.surgeon` and for every extension no other
/// format claims.
public struct NativeModelFormat: ModelFormat {
    public init() {}
    public var name: String { "surgeon" }
    public var extensions: [String] { ["surgeon"] }

    public func read(contentsOf url: URL, registry: LayerRegistry) throws -> ModelContents {
        try ModelFile.load(contentsOf: url, registry: registry)
    }

    public func write(_ contents: ModelContents, to url: URL) throws {
        try ModelFile.save(contents, to: url)
    }
}

/// The model formats surgeon reads and writes, by file extension. A path whose extension no
/// format claims is a native `.surgeon` file (which checks its own signature when read).
public struct ModelFormatRegistry: Sendable {
    private var formats: [any ModelFormat] = []
    private let fallback: any ModelFormat = NativeModelFormat()

    /// A registry with the native format only.
    public init() {
        formats = [fallback]
    }

    /// Adds a format; an extension claimed twice is an error.
    public mutating func register(_ format: any ModelFormat) throws(RegistryError) {
        for ext in format.extensions where formats.contains(where: { $0.extensions.contains(ext.lowercased()) }) {
            throw .duplicate(kind: "model format for extension", name: ".\(ext)")
        }
        formats.append(format)
    }

    /// Every registered format, in registration order.
    public var all: [any ModelFormat] { formats }

    /// Every claimed extension, sorted.
    public var extensions: [String] { formats.flatMap(\.extensions).sorted() }

    /// The format for a path, by its extension.
    public func format(for url: URL) -> any ModelFormat {
        let ext = url.pathExtension.lowercased()
        return formats.first { $0.extensions.contains(ext) } ?? fallback
    }

    /// Reads a model in whichever format its extension names.
    public func load(contentsOf url: URL, registry: LayerRegistry) throws(ModelFormatError) -> ModelContents {
        let format = format(for: url)
        do { return try format.read(contentsOf: url, registry: registry) } catch {
            throw .read(format: format.name, underlying: error)
        }
    }

    /// Writes a model atomically in whichever format its extension names; a read-only format,
    /// and a model with a NaN or infinite weight, are refused before anything is written.
    public func save(_ contents: ModelContents, to url: URL) throws(ModelFormatError) {
        let format = format(for: url)
        if let reason = format.writeRefusal { throw .readOnly(path: url.path, reason: reason) }
        if let bad = contents.graph.firstNonFiniteWeight { throw .nonFinite(path: url.path, bad) }
        do { try format.write(contents, to: url) } catch { throw .write(format: format.name, underlying: error) }
    }

    /// The reason a model cannot be written to `url`, or nil when it can.
    public func writeRefusal(for url: URL) -> String? { format(for: url).writeRefusal }
}

/// A model file could not be read or written, in whichever format; the message is the format's
/// own (it names the file and what was wrong).
public enum ModelFormatError: Error, CustomStringConvertible {
    case read(format: String, underlying: any Error)
    case write(format: String, underlying: any Error)
    case readOnly(path: String, reason: String)
    case nonFinite(path: String, NonFiniteWeight)

    public var description: String {
        switch self {
        case let .read(_, error), let .write(_, error): return "\(error)"
        case let .readOnly(path, reason): return "\(path): \(reason)"
        case let .nonFinite(path, weight): return "not writing \(path): \(weight)"
        }
    }

    /// The format's own error.
    public var underlying: (any Error)? {
        switch self {
        case let .read(_, error), let .write(_, error): return error
        case .readOnly, .nonFinite: return nil
        }
    }
}
