import Foundation
import SurgeonCore
import ZIPFoundation

/// Zip archives as lists of named members, for the formats built on zip (`.npz`, `.keras`).
///
/// Reading verifies every member's CRC-32 and that the central directory's member count is
/// reached; writing uses a fixed timestamp (1980-01-01 00:00 UTC, the zip epoch), so the same
/// members always produce the same bytes.
public enum ZipMembers {
    /// The timestamp of written members.
    static let memberDate = Date(timeIntervalSince1970: 315_532_800)

    /// A zip archive could not be read or built; the reason is a sentence fragment.
    public enum Failure: Error, Equatable {
        /// The bytes are not a readable zip archive.
        case notZip(reason: String)
        /// A member is not a file (e.g. a directory entry).
        case notAFile(member: String)
        /// A member's data cannot be extracted or fails its checksum.
        case corruptMember(member: String, reason: String)
        /// Unpacking the members would exceed the memory budget.
        case tooLarge(MemoryBudgetError)
        /// The archive could not be built.
        case write(reason: String)
    }

    /// The members of the archive in `data`, in archive order. With `only`, just the members of
    /// those names are extracted (the others, directory entries included, are skipped unread);
    /// a name that occurs twice among them is refused, because readers disagree on which one
    /// counts. A member may not grow beyond its declared size while it is extracted, nor declare
    /// more than 4 GiB at over 100 times its compressed size (Keras's zip-bomb rule), and the
    /// declared sizes of the members extracted so far must fit in `budget` before each one is
    /// inflated. The directory is checked by `ZipDirectory` before the zip library reads it.
    public static func read(
        _ data: Data, only: Set<String>? = nil, budget: MemoryBudget = .standard
    ) throws(Failure) -> [(name: String, data: Data)] {
        let expected: Int
        do { expected = try ZipDirectory.memberCount(of: data) } catch { throw .notZip(reason: error.reason) }
        let archive: Archive
        do {
            archive = try Archive(data: data, accessMode: .read)
        } catch {
            throw .notZip(reason: describe(error))
        }
        var members: [(name: String, data: Data)] = []
        var extracted: Set<String> = []
        var unpacked = 0
        var seen = 0
        for entry in archive {
            seen += 1
            let member = entry.path
            if let only, !only.contains(member) { continue }
            guard entry.type == .file else { throw .notAFile(member: member) }
            guard extracted.insert(member).inserted else {
                throw .corruptMember(member: member, reason: "the archive holds two members of this name")
            }
            let declared = Int(clamping: entry.uncompressedSize)
            if declared > 1 << 32, entry.uncompressedSize > 100 * max(entry.compressedSize, 1) {
                throw .corruptMember(
                    member: member,
                    reason: "it declares \(declared) bytes, over 100 times its compressed size (a zip bomb?)")
            }
            unpacked = unpacked.addingReportingOverflow(declared).overflow ? Int.max : unpacked + declared
            do {
                try budget.check(count: unpacked, for: "unpacking the archive's members up to '\(member)'")
            } catch {
                throw .tooLarge(error)
            }
            var bytes = Data()
            bytes.reserveCapacity(min(declared, 1 << 28))
            do {
                _ = try archive.extract(entry, skipCRC32: true) { chunk in
                    guard bytes.count + chunk.count <= declared else {
                        throw Failure.corruptMember(
                            member: member, reason: "it holds more than its declared \(declared) bytes")
                    }
                    bytes.append(chunk)
                }
            } catch let failure as Failure {
                throw failure
            } catch {
                throw .corruptMember(member: member, reason: describe(error))
            }
            // The checksum is compared here, with a faster CRC-32 than the zip library's.
            guard bytes.withUnsafeBytes({ ZipChecksum.crc32($0) }) == entry.checksum else {
                throw .corruptMember(member: member, reason: describe(Archive.ArchiveError.invalidCRC32))
            }
            members.append((member, bytes))
        }
        // ZIPFoundation stops iterating silently at an unreadable directory record; compare
        // with the count the end record (or the ZIP64 end record) promises.
        if expected != seen {
            throw .notZip(
                reason: "its central directory lists \(expected) members but only \(seen) can be read "
                    + "(the file is damaged or cut short)")
        }
        return members
    }

    /// The names of the members, in archive order, without extracting anything (empty when the
    /// archive cannot be read).
    public static func names(_ data: Data) -> [String] {
        guard (try? ZipDirectory.memberCount(of: data)) != nil,
            let archive = try? Archive(data: data, accessMode: .read)
        else {
            return []
        }
        return archive.map(\.path)
    }

    /// The bytes of an archive holding `members` in order, deflated when `compressed`.
    public static func write(_ members: [(name: String, data: Data)], compressed: Bool = false) throws(Failure) -> Data
    {
        if !compressed, let stored = storedArchive(members) { return stored }
        do {
            let archive = try Archive(data: Data(), accessMode: .create)
            for (name, bytes) in members {
                try archive.addEntry(
                    with: name, type: .file, uncompressedSize: Int64(bytes.count),
                    modificationDate: memberDate, compressionMethod: compressed ? .deflate : .none
                ) { position, size in
                    let start = bytes.startIndex + Int(position)
                    return bytes.subdata(in: start..<min(start + size, bytes.endIndex))
                }
            }
            guard let data = archive.data else {
                throw Failure.write(reason: "the zip library produced no archive data")
            }
            return data
        } catch let error as Failure {
            throw error
        } catch {
            throw .write(reason: "cannot build the zip archive: \(describe(error))")
        }
    }

    /// An archive of stored (uncompressed) members, written directly: the zip library's own
    /// CRC-32 is byte by byte, which dominated saving a large model. Nil when the archive would
    /// need ZIP64 (4 GiB or more, or 65,535 members or more), which is left to the zip library.
    static func storedArchive(_ members: [(name: String, data: Data)]) -> Data? {
        let names = members.map { Array($0.name.utf8) }
        let total = zip(names, members).reduce(0) { $0 + 76 + 2 * $1.0.count + $1.1.data.count } + 22
        guard total < Int(UInt32.max), members.count < 0xFFFF, names.allSatisfy({ $0.count < 0xFFFF }) else {
            return nil
        }
        var out = Data()
        out.reserveCapacity(total)
        func u16(_ v: Int) { out.append(UInt8(v & 0xFF)); out.append(UInt8((v >> 8) & 0xFF)) }
        func u32(_ v: UInt32) { for k in 0..<4 { out.append(UInt8((v >> (8 * UInt32(k))) & 0xFF)) } }
        // MS-DOS time and date of the zip epoch, 1980-01-01 00:00.
        let dosTime = 0, dosDate = (0 << 9) | (1 << 5) | 1
        var offsets: [Int] = []
        var checksums: [UInt32] = []
        for (name, member) in zip(names, members) {
            let crc = member.data.withUnsafeBytes { ZipChecksum.crc32($0) }
            offsets.append(out.count)
            checksums.append(crc)
            u32(0x0403_4B50); u16(20); u16(0x0800); u16(0); u16(dosTime); u16(dosDate)
            u32(crc); u32(UInt32(member.data.count)); u32(UInt32(member.data.count)); u16(name.count); u16(0)
            out.append(contentsOf: name)
            out.append(member.data)
        }
        let directoryStart = out.count
        for (k, (name, member)) in zip(names, members).enumerated() {
            u32(0x0201_4B50); u16(0x0314); u16(20); u16(0x0800); u16(0); u16(dosTime); u16(dosDate)
            u32(checksums[k]); u32(UInt32(member.data.count)); u32(UInt32(member.data.count)); u16(name.count); u16(0);
            u16(0)
            u16(0); u16(0); u32(0o100644 << 16); u32(UInt32(offsets[k]))
            out.append(contentsOf: name)
        }
        let directorySize = out.count - directoryStart
        u32(0x0605_4B50); u16(0); u16(0); u16(members.count); u16(members.count)
        u32(UInt32(directorySize)); u32(UInt32(directoryStart)); u16(0)
        return out
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
}
