import Foundation
import ZIPFoundation

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
    /// The timestamp of written members.
    static let memberDate = Date(timeIntervalSince1970: 315_532_800)

    /// Reads the `.npz` file at `url`. Error messages name `url.path`.
    public static func read(contentsOf url: URL) throws(NpyError) -> [(name: String, array: NpyArray)] {
        try decode(NpyError.readFile(url), source: url.path)
    }

    /// Decodes the bytes of an `.npz` file; `source` (usually its path) names it in errors.
    public static func decode(_ data: Data, source: String) throws(NpyError) -> [(name: String, array: NpyArray)] {
        if data.starts(with: Npy.magic) {
            throw .notZip(source: source, reason: "it is a single .npy array, not a zip archive; read it as .npy")
        }
        let archive: Archive
        do {
            archive = try Archive(data: data, accessMode: .read)
        } catch {
            throw .notZip(source: source, reason: describe(error))
        }
        var arrays: [(name: String, array: NpyArray)] = []
        var seen = 0
        for entry in archive {
            seen += 1
            let member = entry.path
            guard entry.type == .file, member.hasSuffix(".npy") else {
                throw .memberNotNpy(source: source, member: member)
            }
            var bytes = Data()
            bytes.reserveCapacity(min(Int(clamping: entry.uncompressedSize), 1 << 28))
            let checksum: CRC32
            do {
                checksum = try archive.extract(entry, skipCRC32: false) { chunk in bytes.append(chunk) }
            } catch {
                throw .corruptMember(source: source, member: member, reason: describe(error))
            }
            // extract(_:consumer:) computes the checksum but leaves the comparison to the caller.
            guard checksum == entry.checksum else {
                throw .corruptMember(source: source, member: member, reason: describe(Archive.ArchiveError.invalidCRC32))
            }
            let array = try Npy.decode(bytes, source: "\(source) (member \(member))")
            arrays.append((name: String(member.dropLast(4)), array: array))
        }
        // ZIPFoundation stops iterating silently at an unreadable directory record; compare
        // with the count the end-of-central-directory record promises.
        if let expected = declaredEntryCount(data), expected != seen {
            throw .notZip(
                source: source,
                reason: "its central directory lists \(expected) members but only \(seen) can be read "
                    + "(the file is damaged or cut short)")
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
            let archive = try Archive(data: Data(), accessMode: .create)
            for (name, array) in arrays {
                let npy = Npy.encode(array)
                try archive.addEntry(
                    with: name + ".npy", type: .file, uncompressedSize: Int64(npy.count),
                    modificationDate: memberDate, compressionMethod: compressed ? .deflate : .none
                ) { position, size in
                    let start = npy.startIndex + Int(position)
                    return npy.subdata(in: start..<min(start + size, npy.endIndex))
                }
            }
            guard let data = archive.data else {
                throw FileWriteError(path: source, reason: "the zip library produced no archive data")
            }
            return data
        } catch let error as FileWriteError {
            throw .writeFailed(error)
        } catch {
            throw .writeFailed(FileWriteError(path: source, reason: "cannot build the zip archive: \(describe(error))"))
        }
    }

    /// A sentence fragment for a ZIPFoundation error.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? Archive.ArchiveError else { return "\(error)" }
        switch error {
        case .unreadableArchive:
            return "its zip structure cannot be read"
        case .missingEndOfCentralDirectoryRecord:
            return "it has no zip end-of-central-directory record (it is not a zip file, or it was cut short)"
        case .invalidCRC32:
            return "its CRC-32 checksum does not match its contents"
        case .invalidCompressionMethod:
            return "it uses a compression method other than stored or deflate"
        case .invalidEntrySize, .invalidLocalHeaderSize, .invalidLocalHeaderDataOffset,
             .invalidCentralDirectoryOffset, .invalidCentralDirectorySize, .invalidCentralDirectoryEntryCount:
            return "its zip directory holds impossible sizes or offsets (\(error))"
        default:
            return "zip error \(error)"
        }
    }

    /// The member count in the end-of-central-directory record, or nil when it cannot be found
    /// or is a ZIP64 placeholder (0xFFFF).
    static func declaredEntryCount(_ data: Data) -> Int? {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Int? in
            let recordSize = 22
            guard raw.count >= recordSize else { return nil }
            let lowest = max(0, raw.count - recordSize - Int(UInt16.max))  // the comment is at most 64 KiB
            var at = raw.count - recordSize
            while at >= lowest {
                if raw[at] == 0x50, raw[at + 1] == 0x4B, raw[at + 2] == 0x05, raw[at + 3] == 0x06 {
                    let count = Int(raw[at + 10]) | Int(raw[at + 11]) << 8
                    return count == 0xFFFF ? nil : count
                }
                at -= 1
            }
            return nil
        }
    }
}
