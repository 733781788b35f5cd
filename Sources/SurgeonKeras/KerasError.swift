import SurgeonCore

/// A Keras model file could not be read or written. Every case names the file, and where it
/// applies the layer, the member or weight, and what would have been accepted.
public enum KerasError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read from disk.
    case unreadable(path: String, reason: String)
    /// The extension is neither `.keras`, `.h5` nor `.hdf5`.
    case unsupportedExtension(path: String)
    /// The `.keras` file is not a readable zip archive.
    case notAnArchive(path: String, reason: String)
    /// A zip member Keras always writes is missing.
    case missingMember(path: String, member: String, members: [String])
    /// A zip member could not be extracted (damaged data, CRC mismatch).
    case corruptMember(path: String, member: String, reason: String)
    /// The model configuration is not what Keras writes.
    case config(path: String, message: String)
    /// A layer cannot be loaded: `Lambda`, a custom class, a nested model, an unsupported type
    /// or a configuration its type refuses.
    case layer(path: String, layer: String, type: String, message: String)
    /// The weights do not match the configuration (count or shape), or cannot be read.
    case weights(path: String, message: String)
    /// The HDF5 weights could not be read or written. `message` is the HDF5 error, which
    /// already names the file, with what surgeon was reading.
    case hdf5(path: String, message: String)
    /// The graph could not be built from the configuration.
    case graph(path: String, message: String)
    /// The model file could not be written; nothing was left at its path.
    case write(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .unsupportedExtension(path):
            return "\(path): unknown model file type; expected .keras (Keras 3), .h5 / .hdf5 (legacy Keras) or .surgeon"
        case let .notAnArchive(path, reason):
            return "\(path) is not a Keras 3 .keras archive (a zip file): \(reason)"
        case let .missingMember(path, member, members):
            let listing = members.isEmpty ? "the archive is empty" : "it holds \(members.joined(separator: ", "))"
            return
                "\(path): the archive has no '\(member)' (a .keras file holds config.json and model.weights.h5); "
                + "\(listing)"
        case let .corruptMember(path, member, reason):
            return "\(path): the archive member '\(member)' is damaged: \(reason)"
        case let .config(path, message): return "\(path): \(message)"
        case let .layer(path, layer, type, message): return "\(path): layer '\(layer)' (\(type)): \(message)"
        case let .weights(path, message): return "\(path): \(message)"
        case let .hdf5(_, message): return message
        case let .graph(path, message): return "\(path): \(message)"
        case let .write(path, reason): return "cannot write \(path): \(reason)"
        }
    }
}
