import Foundation
import XCTest

@testable import SurgeonKeras

/// Files written by the wrapper, turned into bytes and opened again.
final class HDF5RoundTripTests: XCTestCase {
    /// Writes `build` into a new in-memory file and reopens its image read-only.
    private func roundTrip(_ build: (HDF5Group) throws -> Void) throws -> HDF5File {
        let written = try HDF5File(creatingInMemory: "written.h5")
        try build(written.root)
        XCTAssertEqual(written.openObjectCount, 1, "objects left open while writing")
        return try HDF5File(image: try written.image(), source: "reopened.h5")
    }

    private static func values(_ count: Int, offset: Float = 0) -> [Float] {
        (0..<count).map { Float($0) * 0.25 - 1.5 + offset }
    }

    func testRoundTrip_float32DatasetsOfEveryShape() throws {
        let shapes: [[Int]] = [[], [0], [1], [5], [2, 3], [3, 3, 2, 4], [1, 1, 1, 1, 1]]
        let file = try roundTrip { root in
            for (index, shape) in shapes.enumerated() {
                try root.writeDataset(
                    "d\(index)", shape: shape, values: Self.values(shape.reduce(1, *), offset: Float(index)))
            }
        }
        for (index, shape) in shapes.enumerated() {
            let dataset = try file.root.dataset("d\(index)")
            XCTAssertEqual(dataset.path, "/d\(index)")
            XCTAssertEqual(dataset.shape, shape)
            XCTAssertEqual(dataset.elementCount, shape.reduce(1, *))
            XCTAssertEqual(dataset.elementType, .float32)
            XCTAssertEqual(try dataset.readFloats(), Self.values(shape.reduce(1, *), offset: Float(index)), "\(shape)")
        }
        XCTAssertEqual(file.openObjectCount, 1, "objects left open while reading")
    }

    func testRoundTrip_specialFloatValuesKeepTheirBits() throws {
        let specials: [Float] = [
            0, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .nan,
            Float(bitPattern: 0x0001_2345),
        ]
        let file = try roundTrip { try $0.writeDataset("x", shape: [specials.count], values: specials) }
        XCTAssertEqual(try file.root.dataset("x").readFloats().map(\.bitPattern), specials.map(\.bitPattern))
    }

    func testRoundTrip_int64ScalarAndArray() throws {
        let file = try roundTrip { root in
            try root.writeInt64Dataset("vars/2", shape: [], values: [10_000_000_007])
            try root.writeInt64Dataset("ints", shape: [2, 2], values: [.min, -1, 0, .max])
        }
        let count = try file.root.dataset("vars/2")
        XCTAssertEqual(count.shape, [])
        XCTAssertEqual(count.elementType, .integer(bits: 64, signed: true))
        XCTAssertEqual(try count.readInt64s(), [10_000_000_007])
        XCTAssertEqual(try count.readFloats(), [Float(10_000_000_007)])
        XCTAssertEqual(try file.root.dataset("ints").readInt64s(), [.min, -1, 0, .max])
    }

    func testRoundTrip_nestedGroupsAndKerasLayout() throws {
        let kernel = Self.values(3 * 3 * 2 * 4)
        let file = try roundTrip { root in
            let vars = try root.createGroup("layers/conv2d/vars")
            XCTAssertEqual(vars.path, "/layers/conv2d/vars")
            try vars.writeStringAttribute("name", "stem_conv")
            try vars.writeDataset("0", shape: [3, 3, 2, 4], values: kernel)
            try vars.writeDataset("1", shape: [4], values: [1, 2, 3, 4])
            try root.createGroup("layers/sequential/layers/dense/vars")
            try root.createGroup("vars")
        }
        let root = file.root
        XCTAssertEqual(try root.childNames(), ["layers", "vars"])
        XCTAssertEqual(try root.group("layers").childNames(), ["conv2d", "sequential"])
        let vars = try root.group("layers/conv2d/vars")
        XCTAssertEqual(try vars.childNames(), ["0", "1"])
        XCTAssertEqual(try vars.stringAttribute("name"), "stem_conv")
        XCTAssertEqual(try vars.dataset("0").shape, [3, 3, 2, 4])
        XCTAssertEqual(try vars.dataset("0").readFloats(), kernel)
        XCTAssertEqual(try root.dataset("layers/conv2d/vars/1").readFloats(), [1, 2, 3, 4])
        XCTAssertEqual(try root.group("layers").group("sequential/layers/dense/vars").childNames(), [])
        XCTAssertTrue(root.exists("layers/sequential/layers/dense"))
        XCTAssertEqual(file.openObjectCount, 1)
    }

    func testRoundTrip_stringAttributesInUTF8AndASCII() throws {
        let file = try roundTrip { root in
            let group = try root.createGroup("g")
            try group.writeStringAttribute("name", "conv2d_é_日本")
            try group.writeStringAttribute("backend", "tensorflow", utf8: false)
            try group.writeStringAttribute("empty", "")
            try root.writeStringAttribute("keras_version", "3.15.1")
        }
        let group = try file.root.group("g")
        XCTAssertEqual(try group.stringAttribute("name"), "conv2d_é_日本")
        XCTAssertEqual(try group.stringAttribute("backend"), "tensorflow")
        XCTAssertEqual(try group.stringAttribute("empty"), "")
        XCTAssertEqual(try file.root.stringAttribute("keras_version"), "3.15.1")
        XCTAssertNil(try group.stringAttribute("absent"))
    }

    func testRoundTrip_stringArrayAttributesIncludingEmpty() throws {
        let names = ["stem_conv/kernel:0", "stem_conv/bias:0", "", "naïve"]
        let file = try roundTrip { root in
            try root.writeStringArrayAttribute("layer_names", ["img", "stem_conv"])
            let layer = try root.createGroup("stem_conv")
            try layer.writeStringArrayAttribute("weight_names", names, utf8: true)
            try root.createGroup("relu").writeStringArrayAttribute("weight_names", [])
        }
        XCTAssertEqual(try file.root.stringArrayAttribute("layer_names"), ["img", "stem_conv"])
        XCTAssertEqual(try file.root.group("stem_conv").stringArrayAttribute("weight_names"), names)
        XCTAssertEqual(try file.root.group("relu").stringArrayAttribute("weight_names"), [])
        XCTAssertNil(try file.root.stringArrayAttribute("weight_names"))
    }

    func testWritingAnAttributeAgain_replacesIt() throws {
        let file = try roundTrip { root in
            try root.writeStringAttribute("name", "first")
            try root.writeStringAttribute("name", "second")
            try root.writeStringArrayAttribute("names", ["a"])
            try root.writeStringArrayAttribute("names", ["b", "c"])
        }
        XCTAssertEqual(try file.root.stringAttribute("name"), "second")
        XCTAssertEqual(try file.root.stringArrayAttribute("names"), ["b", "c"])
    }

    func testCreateGroup_returnsAnExistingGroupAndCreatesIntermediates() throws {
        let file = try HDF5File(creatingInMemory: "w.h5")
        let deep = try file.root.createGroup("a/b/c")
        XCTAssertEqual(deep.path, "/a/b/c")
        XCTAssertEqual(try file.root.createGroup("a/b").path, "/a/b")
        XCTAssertEqual(try file.root.group("a").createGroup("b//c/").path, "/a/b/c")
        XCTAssertEqual(try file.root.group("a").createGroup("/x").path, "/x", "a leading slash starts at the root")
        XCTAssertEqual(try file.root.childNames(), ["a", "x"])
    }

    func testImageOfAnOpenedFile_reopensToTheSameContent() throws {
        let first = try roundTrip { try $0.writeDataset("v", shape: [2], values: [1, 2]) }
        let again = try HDF5File(image: try first.image(), source: "again.h5")
        XCTAssertEqual(try again.root.dataset("v").readFloats(), [1, 2])
    }

    func testTwoFilesOpenAtOnce_stayIndependent() throws {
        let a = try roundTrip { try $0.writeDataset("v", shape: [1], values: [1]) }
        let b = try roundTrip { try $0.writeDataset("v", shape: [1], values: [2]) }
        let c = try HDF5File(image: try a.image(), source: "c.h5")
        XCTAssertEqual(try a.root.dataset("v").readFloats(), [1])
        XCTAssertEqual(try b.root.dataset("v").readFloats(), [2])
        XCTAssertEqual(try c.root.dataset("v").readFloats(), [1])
    }

    func testGroupsAndDatasets_keepTheirFileAlive() throws {
        let dataset: HDF5Dataset
        do {
            let file = try roundTrip { try $0.writeDataset("a/v", shape: [2], values: [3, 4]) }
            dataset = try file.root.group("a").dataset("v")
        }
        XCTAssertEqual(try dataset.readFloats(), [3, 4])
    }

    func testParallelReaders_areSerialisedSafely() throws {
        let source = try HDF5File(creatingInMemory: "w.h5")
        try source.root.writeDataset("g/v", shape: [64], values: Self.values(64))
        let bytes = try source.image()
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 16) { index in
            do {
                let file = try HDF5File(image: bytes, source: "parallel-\(index).h5")
                let values = try file.root.group("g").dataset("v").readFloats()
                if values != Self.values(64) { failures.add("reader \(index) read \(values.prefix(3))") }
                let written = try HDF5File(creatingInMemory: "w\(index).h5")
                try written.root.writeDataset("x", shape: [1], values: [Float(index)])
                let back = try HDF5File(image: try written.image(), source: "back\(index).h5")
                if try back.root.dataset("x").readFloats() != [Float(index)] { failures.add("writer \(index)") }
            } catch {
                failures.add("\(index): \(error)")
            }
        }
        XCTAssertEqual(failures.list, [])
    }
}

/// Messages collected from several threads.
private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ message: String) { lock.withLock { messages.append(message) } }
    var list: [String] { lock.withLock { messages } }
}
