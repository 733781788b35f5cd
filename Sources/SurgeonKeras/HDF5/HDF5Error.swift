/// Why an HDF5 file could not be opened, read or written.
///
/// Each case names the file (`source`, as given when the file was opened, e.g.
/// `"model.keras: model.weights.h5"`) and the HDF5 path concerned. The descriptions state facts
/// only (what was looked for, what was found, HDF5's own reason); callers that know what the
/// object was meant to hold (the weights of layer `x`) wrap them in their own error.
public enum HDF5Error: Error, Equatable, CustomStringConvertible {
    /// The bytes are not an HDF5 file the library can open: no signature, truncated, damaged
    /// superblock. `reason` is HDF5's message, e.g. "unable to open file: file signature not found".
    case notHDF5(source: String, reason: String)
    /// Nothing at `path` is a group (no link with that name, or a link that leads nowhere).
    case noGroup(source: String, path: String)
    /// Nothing at `path` is a dataset.
    case noDataset(source: String, path: String)
    /// `path` exists but is an object of another kind; `expected`/`found` are "group",
    /// "dataset" or "named datatype".
    case wrongObjectKind(source: String, path: String, expected: String, found: String)
    /// A write would replace an existing group or dataset at `path`.
    case alreadyExists(source: String, path: String)
    /// A dataset's elements cannot be converted as asked, e.g. strings read as floats.
    /// `elementType` is `HDF5ElementType.description`; `requested` is e.g. "Float".
    case unsupportedElementType(source: String, path: String, elementType: String, requested: String)
    /// Attribute `name` of the object at `path` exists but is not of the kind asked for;
    /// `found` describes it (e.g. "a float64 array of 3 elements"), `expected` says what was asked.
    case unsupportedAttribute(source: String, path: String, name: String, found: String, expected: String)
    /// The file's structure is inconsistent at `path` (a size that does not add up, an absurd
    /// extent); `detail` says what.
    case corrupt(source: String, path: String, detail: String)
    /// A write was refused before reaching HDF5: the values do not fit the shape, the name is
    /// empty or holds a NUL character…; `detail` says what.
    case invalidArgument(source: String, path: String, detail: String)
    /// The file asks HDF5 to read something outside itself, which surgeon refuses before HDF5
    /// follows it: `what` is e.g. "external storage in 'passwd'", "a virtual dataset (…)", "an
    /// external link to 'other.h5'", "a soft link" (refused too: its target path may pass
    /// through an external link, and Keras never writes one).
    case outsideReference(source: String, path: String, what: String)
    /// An HDF5 call failed; `operation` says what surgeon was doing ("reading dataset") and
    /// `reason` is HDF5's own message.
    case libraryFailure(source: String, path: String, operation: String, reason: String)

    public var description: String {
        switch self {
        case let .notHDF5(source, reason):
            return "\(source) is not a readable HDF5 file (\(reason))"
        case let .noGroup(source, path):
            return "\(source): no group '\(path)'"
        case let .noDataset(source, path):
            return "\(source): no dataset '\(path)'"
        case let .wrongObjectKind(source, path, expected, found):
            return "\(source): '\(path)' is a \(found), not a \(expected)"
        case let .alreadyExists(source, path):
            return "\(source): cannot create '\(path)': an object with that path already exists"
        case let .unsupportedElementType(source, path, elementType, requested):
            return "\(source): dataset '\(path)' holds \(elementType) elements, which cannot be read as \(requested)"
        case let .unsupportedAttribute(source, path, name, found, expected):
            return "\(source): attribute '\(name)' of '\(path)' is \(found), not \(expected)"
        case let .corrupt(source, path, detail):
            return "\(source) is damaged at '\(path)': \(detail)"
        case let .invalidArgument(source, path, detail):
            return "\(source): cannot write '\(path)': \(detail)"
        case let .outsideReference(source, path, what):
            return "\(source): '\(path)' uses \(what), which surgeon does not follow: it reads only datasets "
                + "stored in the file itself (contiguous, compact or chunked) reached by hard links, so that nothing "
                + "outside the file is ever read"
        case let .libraryFailure(source, path, operation, reason):
            return "\(source): \(operation) '\(path)' failed: \(reason)"
        }
    }
}
