import Foundation

/// Checks structures of a file image, in its raw bytes, before the HDF5 library decodes them.
///
/// HDF5 1.10 trusts many on-disk sizes. It copies `count × element size` bytes of attribute
/// data without comparing them with the message's size; it reads a variable-length string by
/// copying the global-heap object's stored size into a buffer sized by the string's own stored
/// length; it reads datatype member names up to the next NUL wherever that is; it reads a
/// dataset from whatever its layout message says. A damaged byte there reads or writes out of
/// bounds, or loops forever on a free-space heap object of size 0. Flipping each byte of a
/// 14 KB Keras-like file in four ways (58,528 files) crashed HDF5 1.10.8 183 times and hung it
/// 32 times, nearly all inside `H5Aread` of variable-length strings; AddressSanitizer found
/// more silent over-reads (datatype names, attribute data). `checkHeader` (`+Messages`)
/// rejects those inconsistencies in an object's header before the object is opened;
/// `+Attributes` covers attribute messages and the global heap, `+Datasets` the data's extent.
///
/// The checks cover what Keras and h5py write: superblock versions 0–3, object headers v1/v2,
/// attributes stored in the header, contiguous and compact datasets. Anything else (dense
/// attribute storage, shared messages, chunked data) is left to HDF5 (`.unchecked`). Group
/// structures (symbol-table B-trees, local heaps) are not checked: HDF5 validates those itself,
/// and no damaged byte in them crashed it.
struct HDF5ImageGuard {
    enum Outcome: Equatable {
        case valid
        case unchecked(String)
        case damaged(String)
        /// The object would make HDF5 read outside the file: "external storage in 'FILE'", "a
        /// virtual dataset" (`+Outside`).
        case outside(String)
    }

    /// The image, indexed from 0.
    let bytes: Data
    /// Where the superblock starts; file addresses are relative to it.
    let base: Int
    let offsetSize: Int
    let lengthSize: Int

    private static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Finds the superblock (at 0, 512, 1024, … as HDF5 searches); nil when there is none or it
    /// uses address sizes other than 4 or 8 bytes.
    init?(image: Data) {
        bytes = image.startIndex == 0 ? image : Data(image)
        var position = 0
        while position + 16 <= bytes.count, !bytes[position..<(position + 8)].elementsEqual(Self.signature) {
            position = position == 0 ? 512 : position * 2
        }
        guard position + 16 <= bytes.count else { return nil }
        base = position
        switch bytes[position + 8] {
        case 0, 1: (offsetSize, lengthSize) = (Int(bytes[position + 13]), Int(bytes[position + 14]))
        case 2, 3: (offsetSize, lengthSize) = (Int(bytes[position + 9]), Int(bytes[position + 10]))
        default: return nil
        }
        guard [4, 8].contains(offsetSize), [4, 8].contains(lengthSize) else { return nil }
    }

    /// The address of the root group's object header, as the superblock gives it: in the root
    /// symbol-table entry of versions 0 and 1, in its own field from version 2. Nil when the
    /// superblock is cut short.
    var rootObjectHeader: UInt64? {
        let version = bytes[base + 8]
        let position = version >= 2 ? base + 12 + 3 * offsetSize : base + (version == 0 ? 24 : 28) + 5 * offsetSize
        return (try? integer(position, offsetSize)).map { UInt64($0) }
    }

    /// Refuses a root group whose object header (or a continuation chunk of it) does not lie
    /// inside the file: HDF5 allocates a header's declared size when it opens the file, before
    /// any object is checked (4 GiB from a 12 KB file, found by fuzz-hdf5).
    func checkRootHeader() throws(Damage) {
        guard let root = rootObjectHeader else {
            throw Damage(detail: "the superblock is cut off by the end of the file")
        }
        _ = try headerMessages(at: root)
    }

    // MARK: - Object headers

    struct Damage: Error {
        var detail: String
    }

    /// One message of an object header: its type, flags and the range of its body.
    struct Message {
        var type: Int
        var flags: UInt8
        var start: Int
        var size: Int
    }

    /// The messages of an object header (version 1 or 2), following continuation chunks.
    func headerMessages(at address: UInt64) throws(Damage) -> [Message] {
        let start = try absolute(address, "object header")
        var chunks: [(start: Int, end: Int)] = []
        let version2: Bool
        var creationOrder = false
        if try slice(start, 4, "object header").elementsEqual("OHDR".utf8) {
            version2 = true
            guard try byte(start + 4) == 2 else { throw Damage(detail: "unknown object header version") }
            let flags = try byte(start + 5)
            creationOrder = flags & 0x04 != 0
            var position = start + 6 + (flags & 0x20 != 0 ? 16 : 0) + (flags & 0x10 != 0 ? 4 : 0)
            let width = 1 << Int(flags & 0x03)
            let size = try integer(position, width)
            position += width
            chunks.append((position, try end(position, size, "object header")))
        } else {
            version2 = false
            guard try byte(start) == 1 else { throw Damage(detail: "unknown object header version") }
            let size = try integer(start + 8, 4)
            chunks.append((start + 16, try end(start + 16, size, "object header")))
        }
        let headerSize = version2 ? 4 + (creationOrder ? 2 : 0) : 8
        var messages: [Message] = []
        var visited: Set<Int> = [chunks[0].start]
        var next = 0
        while next < chunks.count {
            var position = chunks[next].start
            let end = chunks[next].end
            next += 1
            while position + headerSize <= end {
                let type = version2 ? Int(try byte(position)) : try integer(position, 2)
                let size = try integer(position + (version2 ? 1 : 2), 2)
                let flags = try byte(position + (version2 ? 3 : 4))
                let data = position + headerSize
                guard data + size <= end else { throw Damage(detail: "an object header message overruns its chunk") }
                messages.append(Message(type: type, flags: flags, start: data, size: size))
                if type == 0x10 {
                    let chunk = try continuation(data, size, version2: version2)
                    guard chunks.count < 1024 else { throw Damage(detail: "too many object header chunks") }
                    if visited.insert(chunk.start).inserted { chunks.append(chunk) }
                }
                position = data + size
            }
        }
        return messages
    }

    /// The message area of the chunk a continuation message points to.
    private func continuation(_ data: Int, _ size: Int, version2: Bool) throws(Damage) -> (start: Int, end: Int) {
        guard size >= offsetSize + lengthSize else { throw Damage(detail: "a continuation message is too short") }
        let start = try absolute(UInt64(try integer(data, offsetSize)), "object header continuation")
        let length = try integer(data + offsetSize, lengthSize)
        let end = try end(start, length, "object header continuation")
        guard version2 else { return (start, end) }
        guard length >= 8, try slice(start, 4, "continuation").elementsEqual("OCHK".utf8) else {
            throw Damage(detail: "an object header continuation chunk has no OCHK signature")
        }
        return (start + 4, end - 4)
    }

    // MARK: - Bytes

    func absolute(_ address: UInt64, _ what: String) throws(Damage) -> Int {
        guard address < UInt64(bytes.count), base + Int(address) < bytes.count else {
            throw Damage(detail: "\(Self.article(what)) \(what) address lies beyond the end of the file")
        }
        return base + Int(address)
    }

    /// `start + length`, checked to lie within the file.
    func end(_ start: Int, _ length: Int, _ what: String) throws(Damage) -> Int {
        guard length >= 0, length <= bytes.count - start else {
            throw Damage(detail: "\(Self.article(what)) \(what) extends beyond the end of the file")
        }
        return start + length
    }

    private static func article(_ noun: String) -> String {
        "aeiou".contains(noun.first ?? "x") ? "an" : "a"
    }

    func byte(_ position: Int) throws(Damage) -> UInt8 {
        guard position >= 0, position < bytes.count else {
            throw Damage(detail: "a structure is cut off by the end of the file")
        }
        return bytes[position]
    }

    func slice(_ position: Int, _ count: Int, _ what: String) throws(Damage) -> Data {
        guard position >= 0, count >= 0, count <= bytes.count - position else {
            throw Damage(detail: "\(Self.article(what)) \(what) is cut off by the end of the file")
        }
        return bytes[position..<(position + count)]
    }

    /// A little-endian unsigned integer of `width` bytes (at most 8); too large for `Int` is damage.
    func integer(_ position: Int, _ width: Int) throws(Damage) -> Int {
        var value: UInt64 = 0
        for (shift, byte) in try slice(position, width, "number").enumerated() {
            value |= UInt64(byte) << (8 * UInt64(shift))
        }
        guard value <= UInt64(Int.max) else { throw Damage(detail: "a size or address is impossibly large") }
        return Int(value)
    }
}
