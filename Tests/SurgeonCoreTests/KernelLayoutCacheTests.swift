import SurgeonCoreTestSupport
import Synchronization
import XCTest

@testable import SurgeonCore

/// Kernels kept in oneDNN's layout between calls give the outputs of a fresh reorder, and a
/// changed kernel is never served from the cache.
final class KernelLayoutCacheTests: XCTestCase {
    /// 16 -> 32 channels: oneDNN's primitive reads a blocked kernel layout, so a reorder is
    /// needed (and cached).
    let input = Tensor.random(shape: [1, 9, 9, 16], seed: 1, range: -2...2)

    func geometry(_ size: Int = 3) throws -> ConvGeometry {
        try ConvGeometry(
            inputHeight: 9, inputWidth: 9, kernel: [size, size], strides: [1, 1], dilation: [1, 1], padding: .same)
    }

    func convolve(_ kernel: Tensor, depthwise: Bool = false, cache: KernelLayoutCache?) throws -> Tensor {
        try XCTUnwrap(
            OneDNNConvolution.forward(
                input: input, kernel: kernel, geometry: try geometry(), groups: 1, depthwise: depthwise,
                epilogue: ConvolutionEpilogue(rectifierCap: .infinity), kernelLayouts: cache))
    }

    func testCachedLayoutsGiveTheOutputsOfAFreshReorder_andAreMadeOnce() throws {
        let cache = KernelLayoutCache()
        for (kernel, depthwise) in [
            (Tensor.random(shape: [3, 3, 16, 32], seed: 2), false),
            (Tensor.random(shape: [3, 3, 16, 2], seed: 3), true),
        ] {
            let fresh = try convolve(kernel, depthwise: depthwise, cache: nil)
            let before = cache.count
            XCTAssertEqual(try convolve(kernel, depthwise: depthwise, cache: cache), fresh, "depthwise \(depthwise)")
            XCTAssertEqual(cache.count, before + 1, "the first call reorders into the cache")
            XCTAssertEqual(try convolve(kernel, depthwise: depthwise, cache: cache), fresh, "depthwise \(depthwise)")
            XCTAssertEqual(cache.count, before + 1, "later calls find the entry")
        }
    }

    /// The cache holds the kernel's buffer, so writing to the kernel copies it and the next
    /// call sees the new values, whether the write goes through this variable or a copy.
    func testAChangedKernelIsNeverServedFromTheCache() throws {
        let cache = KernelLayoutCache()
        var kernel = Tensor.random(shape: [3, 3, 16, 32], seed: 4)
        _ = try convolve(kernel, cache: cache)
        for i in stride(from: 0, to: kernel.count, by: 7) { kernel.scalars[i] = -kernel.scalars[i] }
        XCTAssertEqual(try convolve(kernel, cache: cache), try convolve(kernel, cache: nil))
        var copy = kernel
        _ = try convolve(copy, cache: cache)
        copy.scalars.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] *= 0.5 }
        }
        let changed = try convolve(copy, cache: cache)
        XCTAssertEqual(changed, try convolve(copy, cache: nil))
        XCTAssertNotEqual(changed, try convolve(kernel, cache: nil))
    }

    /// Layers of the same shape share a primitive and its bindings, each of which remembers
    /// the last kernel it read: alternating kernels (and caches) each get their own values.
    func testKernelsOfTheSameShapeTakeTurnsWithoutMixingUp() throws {
        let kernels = (0..<3).map { Tensor.random(shape: [3, 3, 16, 32], seed: UInt64(10 + $0)) }
        let fresh = try kernels.map { try convolve($0, cache: nil) }
        let caches = [KernelLayoutCache(), KernelLayoutCache()]
        for round in 0..<3 {
            for (k, kernel) in kernels.enumerated() {
                XCTAssertEqual(
                    try convolve(kernel, cache: caches[(round + k) % 2]), fresh[k], "round \(round), kernel \(k)")
                XCTAssertEqual(try convolve(kernel, cache: nil), fresh[k], "round \(round), kernel \(k), no cache")
            }
        }
    }

    /// `Graph.predict` hands the graph's cache to its layers' forward passes.
    func testPredictPassesTheGraphsCacheToItsLayers() throws {
        var graph = try Graph(
            nodes: [Node("input", Source(shape: [9, 9, 16])), Node("probe", CacheProbe(), inputs: ["input"])],
            outputs: ["probe"])
        graph.kernelLayouts = KernelLayoutCache()
        _ = try graph.predict([input])
        XCTAssertEqual(CacheProbe.seen.withLock { $0 }, ObjectIdentifier(try XCTUnwrap(graph.kernelLayouts)))
    }
}

/// Records the cache its forward pass is given.
private struct CacheProbe: Layer {
    static let kerasClassName = "TestCacheProbe"
    static let seen = Mutex<ObjectIdentifier?>(nil)
    var weights: [Tensor] = []

    init() {}
    init(config: LayerConfig) throws {}
    var config: LayerConfig { LayerConfig() }

    func outputShape(for inputShapes: [Shape]) throws -> Shape { try onlyInput(inputShapes) }

    func forward(_ inputs: [Tensor], context: ForwardContext) throws -> LayerOutput {
        Self.seen.withLock { $0 = context.kernelLayouts.map(ObjectIdentifier.init) }
        return LayerOutput(try onlyInput(inputs))
    }

    func backward(
        _ outputGradient: Tensor, inputs: [Tensor], output: LayerOutput, context: ForwardContext
    ) throws -> LayerGradients {
        LayerGradients(inputs: [outputGradient])
    }
}
