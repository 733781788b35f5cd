import Foundation

extension HDF5ImageGuard {
    /// What in an object header's `messages` would make HDF5 read outside the file, nil when
    /// nothing does: an external file list (message 0x07: the raw data lives in files the
    /// dataset names, which may be any local file, or a FIFO that blocks forever) or a virtual
    /// layout (layout class 3: the data is mapped from datasets in other files). Found in the raw
    /// bytes, before HDF5 opens the object.
    func outsideReference(in messages: [Message]) -> String? {
        if let list = messages.first(where: { $0.type == 0x07 }) {
            let (count, names) = externalFileNames(list)
            return Self.externalStorage(count: count, names: names)
        }
        for layout in messages where layout.type == 0x08 && layout.size >= 2 {
            if (try? byte(layout.start + 1)) == 3 {
                let (count, file) = virtualSource(layout)
                return Self.virtualDataset(count: count, firstFile: file)
            }
        }
        return nil
    }

    /// "a virtual dataset mapped from 'a.h5'", or "… from 3 sources, the first in 'a.h5'";
    /// without a name when none could be read.
    static func virtualDataset(count: Int, firstFile: String?) -> String {
        guard let firstFile else { return "a virtual dataset (mapped from datasets in other files)" }
        let file = "'\(printable(firstFile))'"
        return count > 1
            ? "a virtual dataset mapped from \(count) sources, the first in \(file)"
            : "a virtual dataset mapped from \(file)"
    }

    /// How many mappings the virtual layout message `layout` has and the file of the first,
    /// read from the global heap object it points to (version 0: a count, then per mapping the
    /// source file and dataset names, NUL-terminated, and two selections); nil when anything is
    /// out of place (the dataset is refused all the same).
    private func virtualSource(_ layout: Message) -> (count: Int, file: String?) {
        do throws(Damage) {
            guard layout.size >= 2 + offsetSize + 4 else { return (1, nil) }
            let collection = try absolute(UInt64(try integer(layout.start + 2, offsetSize)), "global heap")
            let index = try integer(layout.start + 2 + offsetSize, 4)
            guard try slice(collection, 4, "global heap").elementsEqual("GCOL".utf8) else { return (1, nil) }
            let end = try self.end(collection, try integer(collection + 8, lengthSize), "global heap collection")
            var position = collection + 8 + lengthSize
            while position + 8 + lengthSize <= end {
                let objectIndex = try integer(position, 2)
                let size = try integer(position + 8, lengthSize)
                let data = position + 8 + lengthSize
                guard objectIndex != 0, size <= end - data else { return (1, nil) }
                if objectIndex == index {
                    guard size > 1 + lengthSize, try byte(data) == 0 else { return (1, nil) }
                    let count = try integer(data + 1, lengthSize)
                    let name = try slice(data + 1 + lengthSize, size - 1 - lengthSize, "source file").prefix {
                        $0 != 0
                    }
                    return (max(count, 1), String(decoding: name, as: UTF8.self))
                }
                position = data + ((size + 7) & ~7)
            }
        } catch {}
        return (1, nil)
    }

    /// "external storage in 'a.bin'", or "external storage in 3 files ('a', 'b', 'c')"; the
    /// names are those that could be read (none: "external storage in other files").
    static func externalStorage(count: Int, names: [String]) -> String {
        let quoted = names.map { "'\(printable($0))'" }.joined(separator: ", ")
        switch (count, names.count) {
        case (_, 0): return "external storage in other files"
        case (1, _): return "external storage in \(quoted)"
        default: return "external storage in \(count) files (\(quoted)\(count > names.count ? ", …" : ""))"
        }
    }

    /// `text` for a message: control characters as "?", at most 200 characters.
    static func printable(_ text: String) -> String {
        let cleaned = String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
        return cleaned.count > 200 ? cleaned.prefix(200) + "…" : cleaned
    }

    /// How many files the external file list message names, and the first few names, read from
    /// the local heap the message points to; no names when anything is out of place (the
    /// dataset is refused all the same).
    private func externalFileNames(_ message: Message) -> (count: Int, names: [String]) {
        var count = 0
        var names: [String] = []
        do throws(Damage) {
            let start = message.start, end = message.start + message.size
            guard message.size >= 8 + offsetSize, try byte(start) == 1 else { return (1, []) }
            count = try integer(start + 6, 2)
            let heap = try absolute(UInt64(try integer(start + 8, offsetSize)), "local heap")
            guard try slice(heap, 4, "local heap").elementsEqual("HEAP".utf8) else { return (count, []) }
            let dataSize = try integer(heap + 8, lengthSize)
            let data = try absolute(UInt64(try integer(heap + 8 + 2 * lengthSize, offsetSize)), "local heap data")
            let dataEnd = try self.end(data, dataSize, "local heap data")
            let slotSize = 3 * lengthSize
            for slot in 0..<min(count, 4) {
                let position = start + 8 + offsetSize + slot * slotSize
                guard position + slotSize <= end else { break }
                let offset = try integer(position, lengthSize)
                guard offset < dataSize else { continue }
                let name = try slice(data + offset, dataEnd - data - offset, "external file name").prefix {
                    $0 != 0
                }
                names.append(String(decoding: name, as: UTF8.self))
            }
        } catch {
            return (max(count, 1), names)
        }
        return (max(count, 1), names)
    }
}
