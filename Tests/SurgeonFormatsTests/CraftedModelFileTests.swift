import Foundation
import Layers
import SurgeonCore
import XCTest

@testable import SurgeonFormats

/// Crafted `.surgeon` files with a valid checksum (the checksum is not keyed): every number in
/// them that would size, index or allocate is refused with an error naming the file, the layer,
/// the key and the value, never a trap or a huge allocation.
final class CraftedModelFileTests: XCTestCase {
    // MARK: - Crafting

    private func convGraph() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [8, 8, 2]), name: "input")
        var y = b.add(Conv2D(filters: 4, kernelSize: [3, 3], padding: .same), name: "conv", inputs: [x])
        y = b.add(Flatten(), name: "flat", inputs: [y])
        y = b.add(Dense(units: 3), name: "dense", inputs: [y])
        return try b.build(outputs: [y], seed: 1)
    }

    private func reshapeGraph() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [4]), name: "input")
        var y = b.add(try Reshape(targetShape: [2, 2]), name: "reshape", inputs: [x])
        y = b.add(Flatten(), name: "flat", inputs: [y])
        y = b.add(Dense(units: 3), name: "dense", inputs: [y])
        return try b.build(outputs: [y], seed: 1)
    }

    private static func word(_ bytes: Data, at offset: Int) -> Int {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[bytes.startIndex + offset + i]) << (8 * UInt64(i)) }
        return Int(v)
    }

    /// `graph` encoded, its JSON header changed by `edit` (given the nodes by name), with a
    /// re-computed valid checksum.
    private func crafted(
        _ graph: Graph, edit: (inout [String: [String: Any]]) throws -> Void
    ) throws -> Data {
        let bytes = try ModelFile.encode(ModelFile.Contents(graph: graph))
        let h = Self.word(bytes, at: 16)
        let start = ModelFile.prefixSize
        let headerBytes = bytes[(bytes.startIndex + start)..<(bytes.startIndex + start + h)]
        let dataBytes = Data(bytes[(bytes.startIndex + start + h)...])
        var header = try XCTUnwrap(JSONSerialization.jsonObject(with: headerBytes) as? [String: Any])
        let nodes = try XCTUnwrap(header["nodes"] as? [[String: Any]])
        var byName: [String: [String: Any]] = [:]
        for n in nodes { byName[try XCTUnwrap(n["name"] as? String)] = n }
        try edit(&byName)
        header["nodes"] = try nodes.map { n in try XCTUnwrap(byName[try XCTUnwrap(n["name"] as? String)]) }
        let newHeader = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var out = Data(bytes.prefix(16))
        out.appendLittleEndian(UInt64(newHeader.count))
        out.appendLittleEndian(UInt64(dataBytes.count))
        out.appendLittleEndian(ModelFile.checksum(newHeader, dataBytes))
        out.append(newHeader)
        out.append(dataBytes)
        return out
    }

    private func setConfig(_ node: String, _ key: String, _ value: Any) -> (inout [String: [String: Any]]) -> Void {
        { nodes in
            var n = nodes[node] ?? [:]
            var config = n["config"] as? [String: Any] ?? [:]
            config[key] = value
            n["config"] = config
            nodes[node] = n
        }
    }

    /// Decoding `bytes` throws an error whose description names every one of `parts`.
    private func assertRefused(
        _ bytes: Data, naming parts: [String], file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(
            try ModelFile.decode(bytes, source: "crafted.surgeon", registry: .standard), file: file, line: line
        ) { error in
            let text = "\(error)"
            for part in ["crafted.surgeon"] + parts {
                XCTAssertTrue(text.contains(part), "'\(part)' missing from: \(text)", file: file, line: line)
            }
        }
    }

    // MARK: - The triggers

    func testCraftedFile_isReadableWhenUnchanged() throws {
        let bytes = try crafted(try convGraph()) { _ in }
        XCTAssertNoThrow(try ModelFile.decode(bytes, source: "crafted.surgeon", registry: .standard))
    }

    /// Found by fuzz-model: lengths near 2^64 overflowed while the truncation message was worded.
    func testHeaderAndDataLengthsNear2To64_areReportedAsTruncatedWithoutOverflow() throws {
        var bytes = try crafted(try convGraph()) { _ in }
        for (offset, value) in [(16, UInt64.max), (24, UInt64.max - 3)] {
            for i in 0..<8 {
                bytes[bytes.startIndex + offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))
            }
        }
        XCTAssertThrowsError(try ModelFile.decode(bytes, source: "long.surgeon", registry: .standard)) { error in
            XCTAssertTrue("\(error)".contains("long.surgeon"), "\(error)")
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
    }

    func testScalarKernelSizeOf1e30_isRefusedNamingLayerKeyAndValue() throws {
        let bytes = try crafted(try convGraph(), edit: setConfig("conv", "kernel_size", 1e30))
        assertRefused(bytes, naming: ["conv", "kernel_size", "e+30"])
    }

    func testStridesOf1e30_isRefused() throws {
        let bytes = try crafted(try convGraph(), edit: setConfig("conv", "strides", [1e30, 1]))
        assertRefused(bytes, naming: ["conv", "strides", "e+30"])
    }

    func testBatchShapeOf2To62_isRefused() throws {
        let bytes = try crafted(
            try convGraph(), edit: setConfig("input", "batch_shape", [NSNull(), 4_611_686_018_427_387_904.0, 8, 2]))
        assertRefused(bytes, naming: ["input", "batch_shape"])
    }

    func testReshapeTargetOf1e30_isRefused() throws {
        let bytes = try crafted(try reshapeGraph(), edit: setConfig("reshape", "target_shape", [1e30, 1]))
        assertRefused(bytes, naming: ["reshape", "target_shape"])
    }

    func testReshapeTargetWhoseProductOverflows_isRefusedNotTrapped() throws {
        let big = Double(1 << 31)
        let bytes = try crafted(try reshapeGraph(), edit: setConfig("reshape", "target_shape", [big, big, big, -1]))
        assertRefused(bytes, naming: ["reshape", "target_shape"])
    }

    func testKernelTimesDilationBeyondTheInput_isRefused() throws {
        let bytes = try crafted(try convGraph()) { nodes in
            self.setConfig("conv", "dilation_rate", [2_147_483_648.0, 2_147_483_648.0])(&nodes)
            self.setConfig("conv", "padding", "valid")(&nodes)
        }
        assertRefused(bytes, naming: ["conv"])
    }

    func testTensorShapeWhoseProductWraps_isRefusedNamingTheTensor() throws {
        let bytes = try crafted(try convGraph()) { nodes in
            var n = nodes["dense"] ?? [:]
            var weights = n["weights"] as? [[String: Any]] ?? []
            weights[0]["shape"] = [1 << 31, 1 << 31, 1 << 31, 4]
            n["weights"] = weights
            nodes["dense"] = n
        }
        assertRefused(bytes, naming: ["dense", "2^40"])
    }

    func testLayerStoredWithoutWeights_isRefusedNeverInitialised() throws {
        let bytes = try crafted(try convGraph()) { nodes in
            var n = nodes["dense"] ?? [:]
            n["weights"] = [[String: Any]]()
            var config = n["config"] as? [String: Any] ?? [:]
            config["units"] = 2_147_483_647
            n["config"] = config
            nodes["dense"] = n
        }
        assertRefused(bytes, naming: ["dense", "without weights"])
    }
}
