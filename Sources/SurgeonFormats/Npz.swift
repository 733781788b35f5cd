import Foundation
import SurgeonCore

/// Reads and writes NumPy `.npz` files: zip archives whose members are `.npy` files named
/// `<array name>.npy`, stored (`np.savez`) or deflated (`np.savez_compressed`).
///
/// Every member must be a `.npy` file that `Npy` accepts; anything else (a directory, a text
/// file, a damaged member) is an error naming the archive and the member. Member checksums are
/// verified. Arrays come back in archive order with the `.npy` suffix removed.
///
/// Writing puts members in the given order with a fixed timestamp (1980-01-01 00:00 UTC, the
/// zip epoch), so the same arrays always produce the same bytes.
public enum Npz {
    /// Reads the `.npz` file at `url`. Error messages name `url.path`.
    public static func read(contentsOf url: URL) throws(NpyError) -> [(name: String, array: NpyArray)] {
        try decode(NpyError.readFile(url), source: url.path)
    }

    /// Decodes the bytes of an `.npz` file; `source` (usually its path) names it in errors.
    public static func decode(_ data: Data, source: String) throws(NpyError) -> [(name: String, array: NpyArray)] {
        if data.starts(with: Npy.magic) {
            throw .notZip(source: source, reason: "it is a single .npy array, not a zip archive; read it as .npy")
        }
        let members: [(name: String, data: Data)]
        do { members = try ZipMembers.read(data) } catch {
            switch error {
            case let .notZip(reason): throw .notZip(source: source, reason: reason)
            case let .notAFile(member): throw .memberNotNpy(source: source, member: member)
            case let .corruptMember(member, reason):
                throw .corruptMember(source: source, member: member, reason: reason)
            case let .write(reason): throw .notZip(source: source, reason: reason)
            case let .tooLarge(budget): throw .cannotRead(source: source, reason: budget.description)
            }
        }
        var arrays: [(name: String, array: NpyArray)] = []
        for (member, bytes) in members {
            guard member.hasSuffix(".npy") else { throw .memberNotNpy(source: source, member: member) }
            let array = try Npy.decode(bytes, source: "\(source) (member \(member))")
            arrays.append((name: String(member.dropLast(4)), array: array))
        }
        return arrays
    }

    /// The bytes of an `.npz` archive holding `arrays` as members `<name>.npy`, deflated when
    /// `compressed`. Names must be non-empty and unique.
    public static func encode(
        _ arrays: [(name: String, array: NpyArray)], compressed: Bool = false
    ) throws(NpyError) -> Data {
        try encode(arrays, compressed: compressed, source: "the .npz archive")
    }

    /// Writes `arrays` to `url` as an `.npz` archive, atomically (temporary file + rename); on
    /// failure no file is left. `compressed` deflates the members like `np.savez_compressed`.
    public static func write(
        _ arrays: [(name: String, array: NpyArray)], to url: URL, compressed: Bool = false
    ) throws(NpyError) {
        let data = try encode(arrays, compressed: compressed, source: url.path)
        do {
            try AtomicFile.write(data, to: url)
        } catch {
            throw .writeFailed(error)
        }
    }

    private static func encode(
        _ arrays: [(name: String, array: NpyArray)], compressed: Bool, source: String
    ) throws(NpyError) -> Data {
        var names = Set<String>()
        for (name, _) in arrays {
            guard !name.isEmpty else { throw .invalidMemberName(source: source, name: name, reason: "is empty") }
            guard names.insert(name).inserted else {
                throw .invalidMemberName(source: source, name: name, reason: "is used more than once")
            }
        }
        do {
            return try ZipMembers.write(arrays.map { ($0.name + ".npy", Npy.encode($0.array)) }, compressed: compressed)
        } catch {
            let reason: String
            if case let .write(r) = error { reason = r } else { reason = "\(error)" }
            throw .writeFailed(FileWriteError(path: source, reason: reason))
        }
    }
}
