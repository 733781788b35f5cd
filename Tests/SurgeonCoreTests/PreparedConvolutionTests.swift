import SurgeonCoreTestSupport
import XCTest

@testable import SurgeonCore

/// A convolution prepared for one input shape computes what `forward` computes with the same
/// arguments, bit for bit, on every call: plain and depthwise, with and without an epilogue and
/// a kernel-layout cache, on column pairs and in oneDNN's blocked kernel layouts.
final class PreparedConvolutionTests: XCTestCase {
    typealias Case = OneDNNConvolutionTests.Case

    /// The suite's convolutions, and some that run on column pairs (8 outputs, 1 output).
    static let convolutions =
        OneDNNConvolutionTests.convolutions + [
            Case(height: 6, width: 8, channels: 3, outputs: 8),
            Case(batch: 1, height: 5, width: 10, channels: 24, outputs: 8, kernel: [3, 5]),
            Case(height: 7, width: 6, channels: 2, outputs: 1, kernel: [2, 2]),
        ]

    static func epilogues(_ outputs: Int, seed: UInt64) -> [ConvolutionEpilogue?] {
        let bias = Tensor.random(shape: [outputs], seed: seed, range: -1...1)
        return [
            nil, ConvolutionEpilogue(bias: bias), ConvolutionEpilogue(rectifierCap: .infinity),
            ConvolutionEpilogue(bias: bias, rectifierCap: 6),
        ]
    }

    func testPreparedConvolutionsEqualForward() throws {
        for (k, c) in Self.convolutions.enumerated() {
            let g = try c.geometry()
            let x = Tensor.random(shape: [c.batch, c.height, c.width, c.channels], seed: UInt64(k), range: -2...2)
            let w = Tensor.random(shape: c.kernel + [c.channels / c.groups, c.outputs], seed: UInt64(k + 100))
            for (e, epilogue) in Self.epilogues(c.outputs, seed: UInt64(k + 200)).enumerated() {
                for cache in [nil, KernelLayoutCache()] {
                    let expected = Convolution.forward(
                        input: x, kernel: w, geometry: g, groups: c.groups, epilogue: epilogue, kernelLayouts: cache)
                    let prepared = try XCTUnwrap(
                        Convolution.prepared(
                            inputShape: x.shape, kernel: w, geometry: g, groups: c.groups, epilogue: epilogue,
                            kernelLayouts: cache), "\(c)")
                    XCTAssertEqual(prepared.outputShape, expected.shape, "\(c)")
                    for call in 0..<2 {
                        XCTAssertEqual(
                            try prepared.run([x]), expected, "\(c), epilogue \(e), cache \(cache != nil), call \(call)")
                    }
                }
            }
        }
    }

    func testPreparedDepthwiseConvolutionsEqualForward() throws {
        for (k, c) in OneDNNConvolutionTests.depthwise.enumerated() {
            let g = try c.geometry()
            let x = Tensor.random(shape: [c.batch, c.height, c.width, c.channels], seed: UInt64(k), range: -2...2)
            let w = Tensor.random(shape: c.kernel + [c.channels, c.outputs], seed: UInt64(k + 100))
            for (e, epilogue) in Self.epilogues(c.channels * c.outputs, seed: UInt64(k + 200)).enumerated() {
                let cache = KernelLayoutCache()
                let expected = DepthwiseConvolution.forward(
                    input: x, kernel: w, geometry: g, epilogue: epilogue, kernelLayouts: cache)
                let prepared = try XCTUnwrap(
                    DepthwiseConvolution.prepared(
                        inputShape: x.shape, kernel: w, geometry: g, epilogue: epilogue, kernelLayouts: cache))
                for call in 0..<2 {
                    XCTAssertEqual(try prepared.run([x]), expected, "\(c), epilogue \(e), call \(call)")
                }
            }
        }
    }

    /// The prepared pass keeps the kernel it was made with: writing to the caller's kernel
    /// afterwards copies it (copy on write) and leaves the prepared pass's values alone.
    func testAPreparedConvolutionKeepsItsKernel() throws {
        let c = Case(batch: 1, height: 9, width: 9, channels: 16, outputs: 32)
        let g = try c.geometry()
        let x = Tensor.random(shape: [1, 9, 9, 16], seed: 1, range: -2...2)
        var w = Tensor.random(shape: [3, 3, 16, 32], seed: 2)
        let before = Convolution.forward(input: x, kernel: w, geometry: g)
        let prepared = try XCTUnwrap(Convolution.prepared(inputShape: x.shape, kernel: w, geometry: g))
        for i in w.scalars.indices { w.scalars[i] = -w.scalars[i] }
        XCTAssertEqual(try prepared.run([x]), before)
        XCTAssertNotEqual(Convolution.forward(input: x, kernel: w, geometry: g), before)
    }

    func testAPreparedConvolutionRefusesOtherShapes_andTheReferenceBackendPreparesNothing() throws {
        let c = Case()
        let g = try c.geometry()
        let w = Tensor.random(shape: [3, 3, 4, 6], seed: 3)
        let prepared = try XCTUnwrap(Convolution.prepared(inputShape: [2, 8, 8, 4], kernel: w, geometry: g))
        XCTAssertThrowsError(try prepared.run([Tensor(shape: [3, 8, 8, 4])]))
        XCTAssertThrowsError(try prepared.run([Tensor(shape: [2, 8, 8, 4]), Tensor(shape: [2, 8, 8, 4])]))
        XCTAssertNil(Convolution.prepared(inputShape: [2, 8, 8, 5], kernel: w, geometry: g), "channels differ")
        let saved = ConvolutionBackend.current
        defer { ConvolutionBackend.current = saved }
        ConvolutionBackend.current = .reference
        XCTAssertNil(Convolution.prepared(inputShape: [2, 8, 8, 4], kernel: w, geometry: g))
    }
}
