import Foundation

extension HDF5ImageGuard {
    /// Checks the messages of the object header at file address `address` that HDF5 decodes
    /// without bounds checks when the object is opened or its attributes are looked up:
    /// dataspaces, datatypes, layouts, fill values, filter pipelines, links and attributes.
    /// `.outside` when the object's data lives outside the file (`outsideReference(in:)`).
    func checkHeader(at address: UInt64) -> Outcome {
        do throws(Damage) {
            var heaps = HeapCache()
            var skipped: String?
            let messages = try headerMessages(at: address)
            if let what = outsideReference(in: messages) { return .outside(what) }
            for message in messages {
                let end = message.start + message.size
                if message.flags & 0x02 != 0, [0x03, 0x0C].contains(message.type) {
                    skipped = skipped ?? "a shared message"
                    continue
                }
                switch message.type {
                case 0x01: _ = try elementCount(message.start, message.size)
                case 0x03: _ = try datatypeLength(at: message.start, limit: end)
                case 0x04: try checkFill(sizeAt: message.start, end: end)
                case 0x05: try checkFillValue(message)
                case 0x06: try checkLink(message)
                case 0x08: try checkLayout(message)
                case 0x0B: try checkPipeline(message)
                case 0x0C: skipped = try checkAttribute(message, heaps: &heaps) ?? skipped
                case 0x15: if try usesDenseAttributeStorage(message) { skipped = skipped ?? "dense attribute storage" }
                default: break
                }
            }
            return skipped.map { .unchecked($0) } ?? .valid
        } catch {
            return .damaged(error.detail)
        }
    }

    // MARK: - Datatypes

    /// The length of the datatype encoded at `start`, after checking that all of it (member
    /// names, enum values, base types, nested up to 8 levels) lies before `limit`.
    func datatypeLength(at start: Int, limit: Int, depth: Int = 0) throws(Damage) -> Int {
        guard depth < 8 else { throw Damage(detail: "a datatype is nested too deeply") }
        guard start + 8 <= limit else { throw Damage(detail: "a datatype is cut short") }
        let version = try byte(start) >> 4, typeClass = try byte(start) & 0x0F
        let bits = try integer(start + 1, 3), size = try integer(start + 4, 4)
        guard (1...4).contains(version) else { throw Damage(detail: "unknown datatype version \(version)") }
        var position = start + 8
        switch typeClass {
        case 0, 4: position += 4
        case 1: position += 12
        case 2: position += 2
        case 3, 7: break
        case 5: position += bits & 0xFF
        case 6:
            for _ in 0..<(bits & 0xFFFF) {
                position = try afterName(at: position, limit: limit, padded: version < 3)
                position += version < 3 ? 4 : Self.bytesToEncode(size)
                if version == 1 { position += 28 }
                position += try datatypeLength(at: position, limit: limit, depth: depth + 1)
            }
        case 8:
            let count = bits & 0xFFFF
            let baseSize = try integer(position + 4, 4)
            position += try datatypeLength(at: position, limit: limit, depth: depth + 1)
            for _ in 0..<count { position = try afterName(at: position, limit: limit, padded: version < 3) }
            let (values, overflow) = count.multipliedReportingOverflow(by: baseSize)
            guard !overflow, values <= limit - position else { throw Damage(detail: "an enum's values are cut short") }
            position += values
        case 9:
            position += try datatypeLength(at: position, limit: limit, depth: depth + 1)
        case 10:
            let rank = Int(try byte(position))
            guard rank <= 32 else { throw Damage(detail: "an array datatype has \(rank) dimensions") }
            position += version < 3 ? 4 + 8 * rank : 1 + 4 * rank
            position += try datatypeLength(at: position, limit: limit, depth: depth + 1)
        default:
            throw Damage(detail: "unknown datatype class \(typeClass)")
        }
        guard position <= limit else { throw Damage(detail: "a datatype is cut short") }
        return position - start
    }

    /// The position after a NUL-terminated name at `position` (padded to 8 bytes if `padded`).
    private func afterName(at position: Int, limit: Int, padded: Bool) throws(Damage) -> Int {
        guard position < limit, let nul = try slice(position, limit - position, "name").firstIndex(of: 0) else {
            throw Damage(detail: "a name is not terminated")
        }
        let length = nul - position + 1
        return position + (padded ? (length + 7) & ~7 : length)
    }

    /// How many bytes HDF5 uses to encode offsets within an object of `size` bytes.
    private static func bytesToEncode(_ size: Int) -> Int {
        var width = 1
        while width < 8, size >> (8 * width) > 0 { width += 1 }
        return width
    }

    // MARK: - Dataset messages

    /// A fill value: 4-byte size, then that many bytes.
    private func checkFill(sizeAt position: Int, end: Int) throws(Damage) {
        let size = Int(Int32(truncatingIfNeeded: try integer(position, 4)))
        guard size <= end - position - 4 else { throw Damage(detail: "a fill value overruns its message") }
    }

    /// The fill value message (versions 1–3); its value, when present, must fit in it.
    private func checkFillValue(_ message: Message) throws(Damage) {
        let start = message.start, end = message.start + message.size
        switch try byte(start) {
        case 1: try checkFill(sizeAt: start + 4, end: end)
        case 2: if try byte(start + 3) != 0 { try checkFill(sizeAt: start + 4, end: end) }
        case 3: if try byte(start + 1) & 0x20 != 0 { try checkFill(sizeAt: start + 2, end: end) }
        case let version: throw Damage(detail: "unknown fill value message version \(version)")
        }
    }

    /// The layout message: only versions 3 and 4 (a damaged version byte that turns a
    /// version 3 message into 1 or 2 crashed HDF5 1.10.8), with every part inside the message.
    private func checkLayout(_ message: Message) throws(Damage) {
        let start = message.start
        let version = try byte(start)
        guard version == 3 || version == 4 else {
            throw Damage(detail: "the dataset's layout message has version \(version); surgeon reads versions 3 and 4")
        }
        let needed: Int
        switch try byte(start + 1) {
        case 0: needed = 4 + (try integer(start + 2, 2))
        case 1: needed = 2 + offsetSize + lengthSize
        case 2 where version == 3:
            let rank = Int(try byte(start + 2))
            guard rank <= 33 else { throw Damage(detail: "a chunked layout has \(rank) dimensions") }
            needed = 3 + offsetSize + 4 * rank
        case 2:
            let flags = try byte(start + 2), rank = Int(try byte(start + 3)), width = Int(try byte(start + 4))
            guard rank <= 33, (1...8).contains(width) else { throw Damage(detail: "a chunked layout is malformed") }
            let index = start + 5 + rank * width
            let indexInfo: Int
            switch try byte(index) {
            case 1: indexInfo = flags & 0x02 != 0 ? lengthSize + 4 : 0
            case 2: indexInfo = 0
            case 3: indexInfo = 1
            case 4: indexInfo = 5
            case 5: indexInfo = 6
            case let other: throw Damage(detail: "unknown chunk index type \(other)")
            }
            needed = index + 1 + indexInfo + offsetSize - start
        case 3: needed = 2 + offsetSize + 4
        case let other: throw Damage(detail: "unknown layout class \(other)")
        }
        guard needed <= message.size else { throw Damage(detail: "the dataset's layout message is cut short") }
    }

    /// The filter pipeline: at most 32 filters, names terminated, client data inside.
    private func checkPipeline(_ message: Message) throws(Damage) {
        let start = message.start, end = message.start + message.size
        let version = try byte(start), count = Int(try byte(start + 1))
        guard version == 1 || version == 2, count <= 32 else { throw Damage(detail: "a filter pipeline is malformed") }
        var position = start + (version == 1 ? 8 : 2)
        for _ in 0..<count {
            let id = try integer(position, 2)
            let named = version == 1 || id >= 256
            let nameLength = named ? try integer(position + 2, 2) : 0
            position += named ? 4 : 2
            let values = try integer(position + 2, 2)
            position += 4
            if nameLength > 0 {
                guard try slice(position, nameLength, "filter name").contains(0) else {
                    throw Damage(detail: "a filter name is not terminated")
                }
                position += version == 1 ? (nameLength + 7) & ~7 : nameLength
            }
            position += 4 * values + (version == 1 && values % 2 == 1 ? 4 : 0)
            guard position <= end else { throw Damage(detail: "a filter pipeline overruns its message") }
        }
    }

    // MARK: - Links

    /// A link message (groups in the newer format): name and target inside the message.
    private func checkLink(_ message: Message) throws(Damage) {
        let start = message.start, end = message.start + message.size
        guard try byte(start) == 1 else { throw Damage(detail: "unknown link message version") }
        let flags = try byte(start + 1)
        var position = start + 2
        let type = flags & 0x08 != 0 ? Int(try byte(position)) : 0
        if flags & 0x08 != 0 { position += 1 }
        if flags & 0x04 != 0 { position += 8 }
        if flags & 0x10 != 0 { position += 1 }
        let width = 1 << Int(flags & 0x03)
        let nameLength = try integer(position, width)
        guard nameLength <= end - position else { throw Damage(detail: "a link name overruns its message") }
        position += width + nameLength
        position += type == 0 ? offsetSize : 2 + (try integer(position, 2))
        guard position <= end else { throw Damage(detail: "a link overruns its message") }
    }
}
