import Foundation
import XCTest

@testable import SurgeonKeras

/// Missing objects, wrong kinds, refused writes: the case, its values and its message.
final class HDF5ErrorTests: XCTestCase {
    private let source = "model.keras: model.weights.h5"

    /// A read-only file with `/layers/conv2d/vars/0` (a dataset) and an attribute on the root.
    private func sample() throws -> HDF5File {
        let written = try HDF5File(creatingInMemory: "w.h5")
        try written.root.createGroup("layers/conv2d/vars").writeDataset("0", shape: [2], values: [1, 2])
        try written.root.writeStringAttribute("name", "model")
        return try HDF5File(image: try written.image(), source: source)
    }

    // MARK: - Not HDF5

    func testBytesWithoutSignature_areNotHDF5() {
        let error = expectHDF5Error { () throws(HDF5Error) in
            try HDF5File(image: Data("PK\u{3}\u{4} this is a zip, not HDF5".utf8), source: source)
        }
        XCTAssertEqual(error, .notHDF5(source: source, reason: "unable to open file: file signature not found"))
        XCTAssertEqual(
            error?.description,
            "model.keras: model.weights.h5 is not a readable HDF5 file (unable to open file: file signature not found)")
    }

    func testEmptyImage_isNotHDF5() {
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try HDF5File(image: Data(), source: source) },
            .notHDF5(source: source, reason: "the file is empty"))
    }

    func testTruncatedImage_namesTheMissingBytes() throws {
        let image = try sample().image()
        let error = expectHDF5Error { () throws(HDF5Error) in
            try HDF5File(image: image.prefix(image.count - 1), source: source)
        }
        XCTAssertEqual(
            error?.description,
            "\(source) is not a readable HDF5 file (unable to open file: truncated file: eof = \(image.count - 1), "
                + "sblock->base_addr = 0, stored_eof = \(image.count))")
    }

    // MARK: - Missing objects

    func testMissingGroup_namesTheAbsolutePath() throws {
        let layers = try sample().root.group("layers")
        let error = expectHDF5Error { () throws(HDF5Error) in try layers.group("conv2d_3/vars") }
        XCTAssertEqual(error, .noGroup(source: source, path: "/layers/conv2d_3/vars"))
        XCTAssertEqual(error?.description, "model.keras: model.weights.h5: no group '/layers/conv2d_3/vars'")
    }

    func testMissingDataset_namesTheAbsolutePath() throws {
        let vars = try sample().root.group("layers/conv2d/vars")
        let error = expectHDF5Error { () throws(HDF5Error) in try vars.dataset("1") }
        XCTAssertEqual(error, .noDataset(source: source, path: "/layers/conv2d/vars/1"))
        XCTAssertEqual(error?.description, "model.keras: model.weights.h5: no dataset '/layers/conv2d/vars/1'")
    }

    func testPathsThroughADataset_doNotExist() throws {
        let root = try sample().root
        XCTAssertFalse(root.exists("layers/conv2d/vars/0/x"))
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try root.group("layers/conv2d/vars/0/x") },
            .noGroup(source: source, path: "/layers/conv2d/vars/0/x"))
    }

    func testMissingAttribute_isNil() throws {
        let root = try sample().root
        XCTAssertNil(try root.stringAttribute("keras_version"))
        XCTAssertNil(try root.stringArrayAttribute("layer_names"))
        XCTAssertNil(try root.group("layers").stringAttribute("name"))
        XCTAssertNil(try root.dataset("layers/conv2d/vars/0").stringAttribute("dtype"))
    }

    func testExistsAndIsDataset_tellGroupsFromDatasets() throws {
        let root = try sample().root
        XCTAssertTrue(root.exists("layers/conv2d"))
        XCTAssertTrue(root.exists("layers/conv2d/vars/0"))
        XCTAssertTrue(root.exists("/"))
        XCTAssertFalse(root.exists("layers/dense"))
        XCTAssertFalse(root.exists("nul\0byte"))
        XCTAssertTrue(root.isDataset("layers/conv2d/vars/0"))
        XCTAssertFalse(root.isDataset("layers/conv2d/vars"))
        XCTAssertFalse(root.isDataset("layers/conv2d/vars/9"))
    }

    // MARK: - Wrong kinds

    func testDatasetOpenedAsGroup_isTheWrongKind() throws {
        let root = try sample().root
        let error = expectHDF5Error { () throws(HDF5Error) in try root.group("layers/conv2d/vars/0") }
        XCTAssertEqual(
            error,
            .wrongObjectKind(source: source, path: "/layers/conv2d/vars/0", expected: "group", found: "dataset"))
        XCTAssertEqual(
            error?.description, "model.keras: model.weights.h5: '/layers/conv2d/vars/0' is a dataset, not a group")
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try root.dataset("layers") },
            .wrongObjectKind(source: source, path: "/layers", expected: "dataset", found: "group"))
    }

    // MARK: - Refused writes

    func testWritingIntoAnOpenedImage_failsWithHDF5sReason() throws {
        let root = try sample().root
        let error = expectHDF5Error { () throws(HDF5Error) in try root.writeDataset("x", shape: [1], values: [1]) }
        XCTAssertEqual(
            error,
            .libraryFailure(
                source: source, path: "/x", operation: "creating dataset",
                reason: "unable to create dataset: no write intent on file"))
        XCTAssertEqual(
            error?.description,
            "model.keras: model.weights.h5: creating dataset '/x' failed: unable to create dataset: no write intent on "
                + "file"
        )
        XCTAssertNotNil(expectHDF5Error { () throws(HDF5Error) in try root.writeStringAttribute("a", "b") })
        XCTAssertNotNil(expectHDF5Error { () throws(HDF5Error) in try root.createGroup("g") })
    }

    func testWritingAnExistingDataset_isRefused() throws {
        let file = try HDF5File(creatingInMemory: "w.h5")
        try file.root.writeDataset("a/v", shape: [1], values: [1])
        let error = expectHDF5Error { () throws(HDF5Error) in try file.root.writeDataset("a/v", shape: [1], values: [2])
        }
        XCTAssertEqual(error, .alreadyExists(source: "w.h5", path: "/a/v"))
        XCTAssertEqual(error?.description, "w.h5: cannot create '/a/v': an object with that path already exists")
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try file.root.writeInt64Dataset("a", shape: [], values: [1]) },
            .alreadyExists(source: "w.h5", path: "/a"))
        XCTAssertEqual(try file.root.dataset("a/v").readFloats(), [1])
    }

    func testWritingBelowADataset_namesTheDataset() throws {
        let file = try HDF5File(creatingInMemory: "w.h5")
        try file.root.writeDataset("v", shape: [1], values: [1])
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try file.root.writeDataset("v/x/y", shape: [1], values: [1]) },
            .wrongObjectKind(source: "w.h5", path: "/v", expected: "group", found: "dataset"))
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try file.root.createGroup("v/g") },
            .wrongObjectKind(source: "w.h5", path: "/v", expected: "group", found: "dataset"))
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try file.root.createGroup("v") },
            .wrongObjectKind(source: "w.h5", path: "/v", expected: "group", found: "dataset"))
    }

    func testValuesThatDoNotFitTheShape_areRefused() throws {
        let root = try HDF5File(creatingInMemory: "w.h5").root
        let error = expectHDF5Error { () throws(HDF5Error) in
            try root.writeDataset("k", shape: [3, 3], values: [1, 2])
        }
        XCTAssertEqual(
            error, .invalidArgument(source: "w.h5", path: "/k", detail: "shape (3, 3) needs 9 values, got 2"))
        XCTAssertEqual(error?.description, "w.h5: cannot write '/k': shape (3, 3) needs 9 values, got 2")
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try root.writeDataset("n", shape: [-1, 2], values: []) },
            .invalidArgument(source: "w.h5", path: "/n", detail: "shape (-1, 2) has a negative extent"))
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try root.writeInt64Dataset("s", shape: [], values: []) },
            .invalidArgument(source: "w.h5", path: "/s", detail: "shape () needs 1 values, got 0"))
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in
                try root.writeDataset("o", shape: [Int.max, 2], values: [])
            },
            .invalidArgument(source: "w.h5", path: "/o", detail: "shape (\(Int.max), 2) has too many elements"))
        XCTAssertEqual(try root.childNames(), [], "nothing was created")
    }

    func testBadNames_areRefused() throws {
        let root = try HDF5File(creatingInMemory: "w.h5").root
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try root.writeDataset("", shape: [], values: [1]) },
            .invalidArgument(source: "w.h5", path: "/", detail: "the dataset name \"\" names the root"))
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try root.createGroup("a\0b") },
            .invalidArgument(source: "w.h5", path: "/", detail: "the group name \"a\\0b\" holds a NUL character"))
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try root.writeStringAttribute("", "x") },
            .invalidArgument(source: "w.h5", path: "/", detail: "attribute name \"\" is empty or holds a NUL character")
        )
        XCTAssertEqual(
            expectHDF5Error { () throws(HDF5Error) in try root.writeStringAttribute("a", "x\0y") },
            .invalidArgument(
                source: "w.h5", path: "/", detail: "the value \"x\\0y\" of attribute 'a' holds a NUL character"))
    }
}
