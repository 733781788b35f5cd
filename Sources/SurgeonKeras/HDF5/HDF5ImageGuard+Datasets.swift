import Foundation

extension HDF5ImageGuard {
    /// Checks the layout message of the dataset whose header is at file address `address`,
    /// whose shape and type need `byteCount` bytes: a compact dataset must hold exactly that
    /// many bytes in the message; a contiguous one must hold them inside the file (or have no
    /// storage yet, when HDF5 returns fill values). Chunked datasets are not checked; external
    /// storage and virtual datasets are `.outside`.
    /// Layout versions 1 and 2 (HDF5 before 1.6.3, never written by h5py) are refused: a damaged
    /// version byte that turns a version 3 message into one of them crashed HDF5 1.10.8.
    func checkStorage(ofDatasetAt address: UInt64, byteCount: Int) -> Outcome {
        do throws(Damage) {
            let messages = try headerMessages(at: address)
            // External storage (message 0x07) looks like a contiguous layout with no address.
            if let what = outsideReference(in: messages) { return .outside(what) }
            let layouts = messages.filter { $0.type == 0x08 }
            guard layouts.count == 1, let layout = layouts.first else {
                throw Damage(detail: "the dataset has \(layouts.count) layout messages instead of one")
            }
            let version = try byte(layout.start)
            guard version == 3 || version == 4 else {
                throw Damage(
                    detail: "the dataset's layout message has version \(version); surgeon reads versions 3 and 4")
            }
            switch try byte(layout.start + 1) {
            case 0:
                let size = try integer(layout.start + 2, 2)
                guard 4 + size <= layout.size else { throw Damage(detail: "the compact data overruns its message") }
                try expect(size, byteCount)
            case 1:
                guard 2 + offsetSize + lengthSize <= layout.size else {
                    throw Damage(detail: "the dataset's layout message is too short")
                }
                if try slice(layout.start + 2, offsetSize, "data address").allSatisfy({ $0 == 0xFF }) { return .valid }
                let start = try absolute(UInt64(try integer(layout.start + 2, offsetSize)), "dataset's data")
                let size = try integer(layout.start + 2 + offsetSize, lengthSize)
                try expect(size, byteCount)
                _ = try end(start, size, "dataset's data")
            case 2: return .unchecked("a chunked dataset")
            case 3: return .outside(outsideReference(in: [layout]) ?? "a virtual dataset")
            case let other: throw Damage(detail: "unknown layout class \(other)")
            }
            return .valid
        } catch {
            return .damaged(error.detail)
        }
    }

    private func expect(_ stored: Int, _ needed: Int) throws(Damage) {
        guard stored == needed else {
            throw Damage(detail: "the dataset stores \(stored) bytes where its shape and type need \(needed)")
        }
    }
}
