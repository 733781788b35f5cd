import Foundation

/// The directory of a zip archive, read and checked by surgeon before the zip library sees the
/// bytes: every offset and length the library will seek to lies inside the file, so a damaged
/// or crafted archive is refused with a reason instead of trapping inside the library.
///
/// The end record is found the way the zip library finds it (the last end-of-central-directory
/// signature within 64 KiB + 22 bytes of the end); a ZIP64 end record is used when its locator
/// and record sit immediately before it, as the library expects. Each central-directory entry
/// must lie inside the directory, point at a local header inside the file, and have its data
/// (and data descriptor, when flag bit 3 says there is one) end before the directory starts.
enum ZipDirectory {
    /// A sentence fragment saying why the archive is refused.
    struct Refusal: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    static let endRecordSize = 22
    static let zip64LocatorSize = 20
    static let zip64RecordSize = 56
    static let centralHeaderSize = 46
    static let localHeaderSize = 30

    /// Checks the directory of the archive in `data`; returns the number of members it lists.
    static func memberCount(of data: Data) throws(Refusal) -> Int {
        let result = data.withUnsafeBytes { raw in
            Result { () throws(Refusal) -> Int in try memberCount(raw) }
        }
        return try result.get()
    }

    private static func memberCount(_ bytes: UnsafeRawBufferPointer) throws(Refusal) -> Int {
        let reader = Reader(bytes: bytes)
        let size = bytes.count
        guard let end = findEndRecord(reader) else {
            throw Refusal(
                "it has no zip end-of-central-directory record (it is not a zip file, or it was cut short)")
        }
        // The zip library reads the comment with the record and gives up when it is cut short.
        guard reader.u16(end + 20) <= size - end - endRecordSize else {
            throw Refusal(
                "its end record's \(reader.u16(end + 20))-byte comment runs past the end of the file (the file is "
                    + "damaged or cut short)")
        }
        guard reader.u16(end + 4) == 0, reader.u16(end + 6) == 0 else {
            throw Refusal("it is one part of a multi-disk zip archive, which is not supported")
        }
        var count = reader.u16(end + 10)
        guard reader.u16(end + 8) == count else {
            throw Refusal(
                "its end record lists \(reader.u16(end + 8)) members on this disk but \(count) in all")
        }
        var directorySize = reader.u32(end + 12)
        var directoryStart = reader.u32(end + 16)
        // The bytes before the end record (or before the ZIP64 records) that the directory may use.
        var directoryLimit = end
        if let zip64 = try zip64Record(reader, end: end) {
            count = try checkedInt(reader.u64(zip64 + 32), "its ZIP64 member count")
            guard reader.u64(zip64 + 24) == reader.u64(zip64 + 32) else {
                throw Refusal("its ZIP64 end record lists different member counts for this disk and in all")
            }
            directorySize = try checkedInt(reader.u64(zip64 + 40), "its ZIP64 central directory size")
            directoryStart = try checkedInt(reader.u64(zip64 + 48), "its ZIP64 central directory offset")
            directoryLimit = zip64
        }
        guard directoryStart <= directoryLimit, directorySize <= directoryLimit - directoryStart else {
            throw Refusal(
                "its central directory (offset \(directoryStart), \(directorySize) bytes) lies outside the "
                    + "\(size)-byte file (the file is damaged or cut short)")
        }
        guard count <= directorySize / centralHeaderSize else {
            throw Refusal(
                "its end record lists \(count) members, more than its \(directorySize)-byte central directory "
                    + "can hold")
        }
        let directoryEnd = directoryStart + directorySize
        var at = directoryStart
        for index in 0..<count {
            try checkEntry(
                reader, at: &at, index: index, count: count, directoryEnd: directoryEnd, dataLimit: directoryStart)
        }
        return count
    }

    /// The last end-record signature that leaves room for a whole record, searching no further
    /// back than the longest possible comment.
    private static func findEndRecord(_ reader: Reader) -> Int? {
        let size = reader.bytes.count
        guard size >= endRecordSize else { return nil }
        let lowest = max(0, size - endRecordSize - Int(UInt16.max))
        var at = size - endRecordSize
        while at >= lowest {
            if reader.u32(at) == 0x0605_4B50 { return at }
            at -= 1
        }
        return nil
    }

    /// The offset of the ZIP64 end record when the archive has one where the zip library looks
    /// for it; nil when it has none. A locator without its record is refused.
    private static func zip64Record(_ reader: Reader, end: Int) throws(Refusal) -> Int? {
        let locator = end - zip64LocatorSize
        guard locator >= 0, reader.u32(locator) == 0x0706_4B50 else { return nil }
        let record = locator - zip64RecordSize
        guard record >= 0, reader.u32(record) == 0x0606_4B50 else {
            throw Refusal("its ZIP64 end locator is not preceded by a ZIP64 end record")
        }
        guard reader.u64(locator + 8) == UInt64(record), reader.u32(locator + 4) == 0, reader.u32(locator + 16) <= 1
        else {
            throw Refusal("its ZIP64 end locator does not point at the ZIP64 end record before it")
        }
        return record
    }

    /// Reads and checks the central-directory entry at `at`, then moves `at` past it.
    private static func checkEntry(
        _ reader: Reader, at: inout Int, index: Int, count: Int, directoryEnd: Int, dataLimit: Int
    ) throws(Refusal) {
        let start = at
        guard directoryEnd - start >= centralHeaderSize, reader.u32(start) == 0x0201_4B50 else {
            throw Refusal(
                "its central directory entry \(index + 1) of \(count) (at offset \(start)) is damaged or missing "
                    + "(the file is damaged or cut short)")
        }
        let nameLength = reader.u16(start + 28)
        let extraLength = reader.u16(start + 30)
        let commentLength = reader.u16(start + 32)
        let total = centralHeaderSize + nameLength + extraLength + commentLength
        guard total <= directoryEnd - start else {
            throw Refusal("its central directory entry \(index + 1) runs past the end of the directory")
        }
        at = start + total
        let nameBytes = UnsafeRawBufferPointer(rebasing: reader.bytes[(start + 46)..<(start + 46 + nameLength)])
        let name = String(decoding: nameBytes, as: UTF8.self)
        let member = "member '\(name)'"
        let flags = reader.u16(start + 8)
        let method = reader.u16(start + 10)
        guard flags & 0x41 == 0 else { throw Refusal("its \(member) is encrypted, which is not supported") }
        guard method == 0 || method == 8 else {
            throw Refusal("its \(member) uses compression method \(method); stored (0) and deflate (8) are supported")
        }
        var uncompressed = reader.u32(start + 24)
        var compressed = reader.u32(start + 20)
        var local = reader.u32(start + 42)
        let extraStart = start + 46 + nameLength
        let zip64 = zip64Field(reader, from: extraStart, to: extraStart + extraLength)
        if uncompressed == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF || local == 0xFFFF_FFFF {
            guard var field = zip64 else {
                throw Refusal("its \(member) needs ZIP64 sizes but has no ZIP64 extra field")
            }
            func next(_ what: String) throws(Refusal) -> Int {
                guard field.upperBound - field.lowerBound >= 8 else {
                    throw Refusal("its \(member)'s ZIP64 extra field lacks the \(what)")
                }
                let value = try checkedInt(reader.u64(field.lowerBound), "the ZIP64 \(what) of its \(member)")
                field = (field.lowerBound + 8)..<field.upperBound
                return value
            }
            if uncompressed == 0xFFFF_FFFF { uncompressed = try next("uncompressed size") }
            if compressed == 0xFFFF_FFFF { compressed = try next("compressed size") }
            if local == 0xFFFF_FFFF { local = try next("local header offset") }
        }
        guard method == 8 || compressed == uncompressed else {
            throw Refusal(
                "its stored \(member) declares \(compressed) bytes in the archive but \(uncompressed) unpacked")
        }
        guard local <= dataLimit, dataLimit - local >= localHeaderSize, reader.u32(local) == 0x0403_4B50 else {
            throw Refusal(
                "its \(member) points at offset \(local), where there is no local file header before the "
                    + "central directory (the file is damaged)")
        }
        let dataOffset = local + localHeaderSize + reader.u16(local + 26) + reader.u16(local + 28)
        guard dataOffset <= dataLimit, compressed <= dataLimit - dataOffset else {
            throw Refusal(
                "its \(member) declares \(compressed) bytes at offset \(dataOffset), past the start of the central "
                    + "directory at \(dataLimit) (the file is damaged or cut short)")
        }
        if flags & 0x08 != 0 {
            // The zip library reads the sizes from the data descriptor then; they must agree.
            let isZIP64 = reader.u16(start + 6) & 0xFF >= 45 || zip64 != nil
            let width = isZIP64 ? 8 : 4
            let position = dataOffset + (method == 0 ? uncompressed : compressed)
            guard position <= dataLimit, dataLimit - position >= 8 + 2 * width else {
                throw Refusal("its \(member)'s data descriptor lies past the start of the central directory")
            }
            let sizes = reader.u32(position) == 0x0807_4B50 ? position + 8 : position + 4
            let read: (Int) -> UInt64 = { width == 8 ? reader.u64($0) : UInt64(reader.u32($0)) }
            guard read(sizes) == UInt64(compressed), read(sizes + width) == UInt64(uncompressed) else {
                throw Refusal("its \(member)'s data descriptor gives other sizes than the central directory")
            }
        }
    }

    /// The bytes of the ZIP64 extended-information field (header ID 1) among the extra fields
    /// in `from..<to`, if any.
    private static func zip64Field(_ reader: Reader, from: Int, to: Int) -> Range<Int>? {
        var at = from
        while to - at >= 4 {
            let id = reader.u16(at)
            let length = reader.u16(at + 2)
            guard length <= to - at - 4 else { return nil }
            if id == 1 { return (at + 4)..<(at + 4 + length) }
            at += 4 + length
        }
        return nil
    }

    private static func checkedInt(_ value: UInt64, _ what: String) throws(Refusal) -> Int {
        guard value <= UInt64(Int.max) else { throw Refusal("\(what) is \(value), beyond any file") }
        return Int(value)
    }

    /// Little-endian reads of offsets the caller has checked to lie inside `bytes`.
    private struct Reader {
        var bytes: UnsafeRawBufferPointer

        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }

        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }

        func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }
    }
}
