import CHDF5
import Foundation

/// Process-wide access to the HDF5 C library.
///
/// The library is not safe to call from two threads at once (and its error stack is global in
/// serial builds), so every call surgeon makes goes through `locked`. The lock is recursive
/// because a public method may call another (and a file may be released inside a locked call).
enum HDF5Library {
    private static let lock = NSRecursiveLock()

    /// Turns off HDF5's filter plugins before the library is first used: a dataset naming a
    /// filter HDF5 lacks would make it load every shared library in `HDF5_PLUGIN_PATH` (or its
    /// default plugin folder), and a model file reads nothing but itself.
    private static let pluginsOff: Void = { _ = H5PLset_loading_state(0) }()

    /// Runs `body` holding the library lock, with automatic error printing off and an empty
    /// error stack, so that `failureReason()` sees only the errors of this call.
    static func locked<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        _ = pluginsOff
        // In thread-safe builds (Debian's is one) the automatic printing is a per-thread setting,
        // so it is switched off on every entry rather than once; the call is cheap.
        _ = H5Eset_auto2(CHDF5_H5E_DEFAULT(), nil, nil)
        _ = H5Eclear2(CHDF5_H5E_DEFAULT())
        return try body()
    }

    /// HDF5's own explanation of the last failure: the messages on the error stack from the
    /// failing API function down to the innermost cause (e.g. "unable to open file: file
    /// signature not found"). Clears the stack. Call only inside `locked`.
    static func failureReason() -> String {
        final class Messages { var list: [String] = [] }
        let messages = Messages()
        withExtendedLifetime(messages) {
            let context = Unmanaged.passUnretained(messages).toOpaque()
            _ = H5Ewalk2(
                CHDF5_H5E_DEFAULT(), H5E_WALK_DOWNWARD,
                { _, error, context in
                    guard let error, let context, let description = error.pointee.desc else { return 0 }
                    let text = String(cString: description)
                    let messages = Unmanaged<Messages>.fromOpaque(context).takeUnretainedValue()
                    if !text.isEmpty, messages.list.last != text { messages.list.append(text) }
                    return 0
                }, context)
        }
        _ = H5Eclear2(CHDF5_H5E_DEFAULT())
        guard let outer = messages.list.first, let inner = messages.list.last else {
            return "the HDF5 library reported no reason"
        }
        return outer == inner ? outer : "\(outer): \(inner)"
    }

    /// Clears the error stack after a probe whose failure is an answer, not an error.
    static func discardErrors() {
        _ = H5Eclear2(CHDF5_H5E_DEFAULT())
    }

    /// HDF5's default property list (`H5P_DEFAULT`).
    static var defaultPlist: hid_t { CHDF5_H5P_DEFAULT() }
}

/// Path arithmetic for HDF5 object paths ("/", "/layers/conv2d/vars").
enum HDF5Path {
    /// `relative` resolved against the absolute path `base`. Empty components ("a//b", a
    /// trailing "/") are dropped; a leading "/" means the root, as in HDF5. Returns nil when the
    /// path holds a NUL character, which C strings cannot carry.
    static func resolve(_ relative: String, against base: String) -> String? {
        guard !relative.contains("\0") else { return nil }
        let start = relative.hasPrefix("/") ? [] : components(of: base)
        return absolute(start + components(of: relative))
    }

    /// The names along an absolute or relative path.
    static func components(of path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    /// The absolute path made of `components`.
    static func absolute(_ components: [String]) -> String {
        "/" + components.joined(separator: "/")
    }
}
