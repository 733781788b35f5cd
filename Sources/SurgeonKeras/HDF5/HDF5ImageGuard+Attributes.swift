import Foundation

extension HDF5ImageGuard {
    /// Whether an attribute-info message points at a fractal heap (dense attribute storage).
    func usesDenseAttributeStorage(_ message: Message) throws(Damage) -> Bool {
        let flags = try byte(message.start + 1)
        let heap = message.start + 2 + (flags & 0x01 != 0 ? 2 : 0)
        guard heap + offsetSize <= message.start + message.size else {
            throw Damage(detail: "an attribute info message is too short")
        }
        return try slice(heap, offsetSize, "attribute info").contains { $0 != 0xFF }
    }

    /// Checks one attribute message; returns why it was not checked, or nil when it was.
    func checkAttribute(_ message: Message, heaps: inout HeapCache) throws(Damage) -> String? {
        let start = message.start, end = message.start + message.size
        guard message.size >= 8 else { throw Damage(detail: "an attribute message is too short") }
        let version = try byte(start)
        guard (1...3).contains(version) else { throw Damage(detail: "unknown attribute message version \(version)") }
        if version >= 2, try byte(start + 1) & 0x03 != 0 { return "an attribute with a shared datatype or dataspace" }
        let nameSize = try integer(start + 2, 2), typeSize = try integer(start + 4, 2),
            spaceSize = try integer(start + 6, 2)
        let padded: (Int) -> Int = { version == 1 ? ($0 + 7) & ~7 : $0 }
        let name = start + (version == 3 ? 9 : 8)
        let type = name + padded(nameSize)
        let space = type + padded(typeSize)
        let data = space + padded(spaceSize)
        guard nameSize > 0, typeSize >= 8, spaceSize >= 4, data <= end,
            try slice(name, nameSize, "attribute name").contains(0)
        else { throw Damage(detail: "an attribute message's parts do not fit in it") }
        guard try datatypeLength(at: type, limit: type + typeSize) <= typeSize else {
            throw Damage(detail: "an attribute's datatype overruns its part of the message")
        }
        let typeClass = try byte(type) & 0x0F
        let isVariableLength = typeClass == 9
        // HDF5 sizes the data by the declared size; a variable-length element is a length and
        // a global heap reference (collection address, object index) in the file.
        let elementSize = try integer(type + 4, 4)
        if isVariableLength, elementSize != 4 + offsetSize + 4 {
            throw Damage(detail: "a variable-length datatype declares \(elementSize) bytes per element")
        }
        let count = try elementCount(space, spaceSize)
        let (dataSize, overflow) = count.multipliedReportingOverflow(by: elementSize)
        guard !overflow, dataSize <= end - data else {
            throw Damage(
                detail: "an attribute declares \(count) elements of \(elementSize) bytes, more than its message holds")
        }
        guard isVariableLength else { return nil }
        // HDF5 allocates `length × base size` bytes (the base type follows the 8-byte
        // datatype header) and copies the heap object into them.
        guard typeSize >= 16 else { throw Damage(detail: "a variable-length datatype has no base type") }
        let baseSize = try integer(type + 8 + 4, 4)
        for index in 0..<count {
            let element = data + index * elementSize
            let length = try integer(element, 4)
            let collection = UInt64(try integer(element + 4, offsetSize))
            let object = try integer(element + 4 + offsetSize, 4)
            if length == 0 || collection == 0 { continue }
            let stored = try heaps.objectSizes(at: collection, in: self)[object]
            let (expected, overflow) = length.multipliedReportingOverflow(by: baseSize)
            guard let stored, !overflow, stored == expected else {
                throw Damage(detail: "a variable-length attribute value does not match its global heap object")
            }
        }
        return nil
    }

    /// The number of elements of an encoded dataspace (versions 1 and 2).
    func elementCount(_ space: Int, _ size: Int) throws(Damage) -> Int {
        let version = try byte(space), rank = Int(try byte(space + 1))
        let dims: Int
        switch version {
        case 1: dims = space + 8
        case 2:
            switch try byte(space + 3) {
            case 0: return 1
            case 2: return 0
            default: dims = space + 4
            }
        default: throw Damage(detail: "unknown dataspace version \(version)")
        }
        let flags = try byte(space + 2)
        let arrays = 1 + (flags & 0x01 != 0 ? 1 : 0)
        let permutation = version == 1 && flags & 0x02 != 0 ? 4 * rank : 0
        guard rank <= 32, dims + arrays * rank * lengthSize + permutation <= space + size else {
            throw Damage(detail: "a dataspace's dimensions do not fit in it")
        }
        var count = 1
        for axis in 0..<rank {
            let (product, overflow) = count.multipliedReportingOverflow(
                by: try integer(dims + axis * lengthSize, lengthSize))
            guard !overflow else { throw Damage(detail: "a dataspace has too many elements") }
            count = product
        }
        return count
    }

    // MARK: - Global heap

    /// The parsed global heap collections, by address.
    struct HeapCache {
        var collections: [UInt64: [Int: Int]] = [:]

        mutating func objectSizes(at address: UInt64, in image: HDF5ImageGuard) throws(Damage) -> [Int: Int] {
            if let known = collections[address] { return known }
            let sizes = try image.heapObjectSizes(at: address)
            collections[address] = sizes
            return sizes
        }
    }

    /// The sizes of the objects of the global heap collection at `address`, by index, after
    /// checking that the objects tile the collection exactly (what HDF5 assumes).
    func heapObjectSizes(at address: UInt64) throws(Damage) -> [Int: Int] {
        let start = try absolute(address, "global heap")
        guard try slice(start, 4, "global heap").elementsEqual("GCOL".utf8), try byte(start + 4) == 1 else {
            throw Damage(detail: "a variable-length value points to something that is not a global heap collection")
        }
        let size = try integer(start + 8, lengthSize)
        let end = try end(start, size, "global heap collection")
        let headerSize = 8 + lengthSize
        var sizes: [Int: Int] = [:]
        var position = start + 8 + lengthSize
        while position < end {
            if position + headerSize > end { break }  // a tail too small for an object: free space
            let index = try integer(position, 2)
            let objectSize = try integer(position + 8, lengthSize)
            guard objectSize <= size else { throw Damage(detail: "a global heap object is larger than its collection") }
            let need = index > 0 ? headerSize + ((objectSize + 7) & ~7) : objectSize
            guard need >= headerSize, position + need <= end else {
                throw Damage(detail: "the objects of a global heap collection do not fit in it")
            }
            if index > 0 { sizes[index] = objectSize }
            position += need
        }
        return sizes
    }
}
