/// Names made unique by a numeric suffix (`conv`, `conv_1`, `conv_2`, ...), as the ONNX reader
/// and writer and the Keras writer need when a file's names collide or must change.
public struct UniqueNames: Sendable {
    private var used: Set<String>

    public init(_ used: some Sequence<String> = [String]()) { self.used = Set(used) }

    /// Marks `name` as taken.
    public mutating func reserve(_ name: String) { used.insert(name) }

    /// `wanted` if it is free, else `wanted_k` with the smallest free `k` from 1; taken from now on.
    public mutating func claim(_ wanted: String) -> String {
        var name = wanted
        var k = 1
        while used.contains(name) {
            name = "\(wanted)_\(k)"
            k += 1
        }
        used.insert(name)
        return name
    }
}
