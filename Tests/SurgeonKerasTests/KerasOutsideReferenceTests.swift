import CHDF5
import Foundation
import SurgeonCore
import SurgeonFormats
import SurgeonTestSupport
import XCTest

@testable import SurgeonKeras

/// Model files whose weights point outside the file (external storage, virtual datasets,
/// external and soft links; `Fixtures/outside`, made by h5py with `make_outside_fixtures.py`)
/// are refused by name before HDF5 follows the reference.
final class KerasOutsideReferenceTests: XCTestCase {
    /// Where the fixtures' absolute references point (`make_outside_fixtures.py`).
    static let absoluteMarker = "/tmp/surgeon-outside-fixture/marker.bin"
    static let fifo = "/tmp/surgeon-outside-fixture/fifo"
    /// The 48 bytes a reader that followed a reference would copy in.
    static let marker = Data(String(repeating: "SGMK", count: 12).utf8)
    /// fc1's kernel, the replaced dataset, in each container.
    static let kernelPath = ["h5": "/model_weights/fc1/fc1/kernel:0", "keras": "/layers/dense/vars/0"]

    static func fixture(_ name: String) throws -> URL {
        let file = URL(fileURLWithPath: name)
        guard
            let url = Bundle.module.url(
                forResource: file.deletingPathExtension().lastPathComponent, withExtension: file.pathExtension,
                subdirectory: "Fixtures/outside")
        else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: name]) }
        return url
    }

    /// The message of the error loading fixture `name` throws (nil, and a failure, when it loads).
    func loadError(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String? {
        let url = try Self.fixture(name)
        do {
            let contents = try KerasModelFile.load(contentsOf: url, registry: .standard)
            XCTFail("\(name) loaded (\(contents.graph.nodes.count) layers)", file: file, line: line)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Loading each container of `variant` fails with a message naming the file, the dataset
    /// (or link) path and `kind`.
    func assertRefused(
        _ variant: String, kind: String, path: [String: String] = kernelPath, file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        for ext in ["h5", "keras"] {
            let name = "\(variant).\(ext)"
            guard let message = try loadError(name, file: file, line: line) else { continue }
            for expected in [name, "'\(path[ext] ?? "?")'", "uses \(kind)", "does not follow"] {
                XCTAssertTrue(
                    message.contains(expected), "\(name): no \(expected) in: \(message)", file: file, line: line)
            }
        }
    }

    // MARK: - Controls

    func testCleanFixtures_loadWithTheirStoredKernel() throws {
        for name in ["clean.h5", "clean.keras", "marker-stored.keras"] {
            let contents = try KerasModelFile.load(contentsOf: try Self.fixture(name), registry: .standard)
            let kernel = try XCTUnwrap(contents.graph["fc1"]?.layer.weights.first)
            XCTAssertEqual(kernel.shape, [4, 3], name)
            if name.hasPrefix("marker") {
                let bytes = kernel.scalars.withUnsafeBytes { Data($0) }
                XCTAssertEqual(bytes, Self.marker, "the control holds the marker in the file itself")
            }
        }
    }

    // MARK: - Refused by name

    func testExternalStorageWithRelativePath_isRefusedNamingTheFile() throws {
        try assertRefused("external-relative", kind: "external storage in 'outside-marker.bin'")
    }

    func testExternalStorageWithAbsolutePath_isRefusedWhileTheMarkerIsThere() throws {
        try FileManager.default.createDirectory(
            atPath: (Self.absoluteMarker as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Self.marker.write(to: URL(fileURLWithPath: Self.absoluteMarker))
        defer { unlink(Self.absoluteMarker) }
        try assertRefused("external-absolute", kind: "external storage in '\(Self.absoluteMarker)'")
    }

    func testVirtualDataset_isRefused() throws {
        try assertRefused("virtual", kind: "a virtual dataset mapped from 'outside-source.h5'")
    }

    func testExternalLink_isRefusedNamingTheOtherFile() throws {
        try assertRefused("external-link", kind: "an external link to 'outside-source.h5'")
    }

    /// The choice documented on `HDF5File.walkLinks`: even a soft link to a dataset of the same
    /// file is refused, since its target path could pass through an external link.
    func testSoftLinkToADatasetOfTheSameFile_isRefused() throws {
        try assertRefused("soft-link", kind: "a soft link")
    }

    func testSoftLinkOnTheWayToTheWeights_isRefusedAtThatLink() throws {
        let message = try XCTUnwrap(try loadError("group-soft-link.keras"))
        XCTAssertTrue(message.contains("'/layers/dense' uses a soft link"), message)
    }

    // MARK: - Refused before HDF5 follows the reference

    /// Each file points at a FIFO: had HDF5 opened it, the load would block (the watch sees the
    /// reader, releases it and the test fails instead of hanging).
    func testReferencesToAFIFO_areRefusedWithoutOpeningIt() throws {
        let fifo = try FIFOWatch(path: Self.fifo)
        defer { fifo.remove() }
        let kinds = [
            "external-fifo": "external storage in '\(Self.fifo)'",
            "virtual-fifo": "a virtual dataset mapped from '\(Self.fifo)'",
            "external-link-fifo": "an external link to '\(Self.fifo)'",
        ]
        for (variant, kind) in kinds.sorted(by: { $0.key < $1.key }) {
            for ext in ["h5", "keras"] {
                let url = try Self.fixture("\(variant).\(ext)")
                let (message, opened) = fifo.run { () -> String in
                    do {
                        _ = try KerasModelFile.load(contentsOf: url, registry: .standard)
                        return "loaded"
                    } catch {
                        return "\(error)"
                    }
                }
                XCTAssertFalse(opened, "\(variant).\(ext): HDF5 opened the FIFO")
                let text = try XCTUnwrap(message, "\(variant).\(ext) did not return")
                XCTAssertTrue(text.contains("uses \(kind)"), "\(variant).\(ext): \(text)")
            }
        }
    }

    /// The image guard finds external storage and virtual layouts in the raw header, so the
    /// dataset is refused before HDF5 opens it (`HDF5File.checkHeader` runs before `H5Oopen`).
    func testImageGuard_findsOutsideStorageInTheRawHeader() throws {
        let expected = [
            "external-relative": "external storage in 'outside-marker.bin'",
            "external-absolute": "external storage in '\(Self.absoluteMarker)'",
            "virtual": "a virtual dataset mapped from 'outside-source.h5'",
        ]
        for (variant, what) in expected {
            let file = try weightsFile(of: "\(variant).keras")
            let outcome = try HDF5Library.locked { () throws(HDF5Error) -> HDF5ImageGuard.Outcome? in
                guard let (check, address) = try file.guardAndAddress(at: "/layers/dense/vars/0") else { return nil }
                return check.checkHeader(at: UInt64(address))
            }
            XCTAssertEqual(outcome, .outside(what), variant)
        }
        let clean = try weightsFile(of: "clean.keras")
        let outcome = try HDF5Library.locked { () throws(HDF5Error) -> HDF5ImageGuard.Outcome? in
            guard let (check, address) = try clean.guardAndAddress(at: "/layers/dense/vars/0") else { return nil }
            return check.checkHeader(at: UInt64(address))
        }
        XCTAssertEqual(outcome, .valid)
    }

    /// `exists` sees an external link without following it (and says yes, so that the caller
    /// asks for the dataset and gets the refusal by name); `isDataset` says no.
    func testExternalLink_isSeenButNotFollowed() throws {
        let vars = try weightsFile(of: "external-link.keras").root.group("layers/dense/vars")
        XCTAssertTrue(vars.exists("0"))
        XCTAssertFalse(vars.isDataset("0"))
        XCTAssertTrue(vars.isDataset("1"))
        let error = expectHDF5Error { () throws(HDF5Error) in try vars.dataset("0") }
        XCTAssertEqual(
            error,
            .outsideReference(
                source: "external-link.keras: model.weights.h5", path: "/layers/dense/vars/0",
                what: "an external link to 'outside-source.h5'"))
    }

    /// A file created in memory has no image for the guard to check: the dataset's creation
    /// property list refuses external storage when the dataset is opened, before its extent is
    /// read.
    func testOutsideStorage_isRefusedFromThePropertyListWithoutTheImageGuard() throws {
        let fifo = try FIFOWatch(path: Self.fifo)
        defer { fifo.remove() }
        let expected = [
            "/kernel": "external storage in '\(Self.fifo)'", "/mapped": "a virtual dataset mapped from '\(Self.fifo)'",
        ]
        for (path, what) in expected {
            let (error, opened) = fifo.run { () -> HDF5Error? in
                expectHDF5Error { () throws(HDF5Error) in
                    let file = try HDF5File(creatingInMemory: "made.h5")
                    try Self.createOutsideDataset(path, virtual: path == "/mapped", in: Self.fifo, file: file)
                    return try file.root.dataset(path).readFloats()
                }
            }
            XCTAssertFalse(opened, path)
            XCTAssertEqual(error, .outsideReference(source: "made.h5", path: path, what: what))
        }
    }

    /// Creates a float32 (4, 3) dataset at `path` whose 48 bytes are kept in the file `external`
    /// (external storage), or mapped from its dataset "/data" (`virtual`).
    private static func createOutsideDataset(
        _ path: String, virtual: Bool, in external: String, file: HDF5File
    ) throws(HDF5Error) {
        try HDF5Library.locked { () throws(HDF5Error) in
            let dcpl = H5Pcreate(CHDF5_H5P_DATASET_CREATE())
            defer { H5Pclose(dcpl) }
            let space = HDF5Extent.createSpace([4, 3])
            defer { H5Sclose(space) }
            let configured =
                virtual
                ? H5Pset_virtual(dcpl, space, external, "/data", space) : H5Pset_external(dcpl, external, 0, 48)
            let dataset =
                dcpl >= 0 && space >= 0 && configured >= 0
                ? H5Dcreate2(
                    file.id, path, CHDF5_H5T_IEEE_F32LE(), space, CHDF5_H5P_DEFAULT(), dcpl, CHDF5_H5P_DEFAULT())
                : -1
            guard dataset >= 0 else { throw file.failure("creating an outside dataset", path: path) }
            H5Dclose(dataset)
        }
    }

    /// A dataset naming a filter HDF5 lacks cannot make it load shared libraries from its
    /// plugin folder.
    func testFilterPlugins_areOffOnceTheLibraryIsUsed() throws {
        _ = try HDF5File(creatingInMemory: "any.h5")
        var state: UInt32 = 1
        HDF5Library.locked { _ = H5PLget_loading_state(&state) }
        XCTAssertEqual(state, 0)
    }

    /// The `model.weights.h5` of a `.keras` fixture, opened from its bytes.
    private func weightsFile(of name: String) throws -> HDF5File {
        let archive = try Data(contentsOf: try Self.fixture(name))
        let member = try XCTUnwrap(try ZipMembers.read(archive, only: ["model.weights.h5"]).first)
        return try HDF5File(image: member.data, source: "\(name): model.weights.h5")
    }
}
