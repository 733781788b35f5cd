import SurgeonCoreTestSupport
import XCTest

@testable import SurgeonCore

/// oneDNN's convolutions against the reference (im2col + SGEMM, the direct depthwise kernel):
/// forward, both gradients, over the shapes the layers can produce.
final class OneDNNConvolutionTests: XCTestCase {
    struct Case: CustomStringConvertible {
        var batch = 2, height = 8, width = 8, channels = 4, outputs = 6
        var kernel = [3, 3], strides = [1, 1], dilation = [1, 1], padding = Padding.same, groups = 1
        var description: String {
            "\(batch)x\(height)x\(width)x\(channels) -> \(outputs), kernel \(kernel), strides \(strides), "
                + "dilation \(dilation), \(padding), groups \(groups)"
        }
        func geometry() throws -> ConvGeometry {
            try ConvGeometry(
                inputHeight: height, inputWidth: width, kernel: kernel, strides: strides, dilation: dilation,
                padding: padding)
        }
    }

    static let convolutions: [Case] = [
        Case(height: 7, width: 9, channels: 3, outputs: 5),
        Case(batch: 3, kernel: [2, 2]),  // even window, 'same': the odd padding row goes to the bottom
        Case(height: 9, width: 7, channels: 6, outputs: 4, kernel: [4, 4], strides: [2, 2]),
        Case(batch: 1, height: 10, width: 11, channels: 5, outputs: 7, strides: [2, 2], padding: .valid),
        Case(height: 9, width: 9, channels: 3, outputs: 4, dilation: [2, 2]),
        Case(height: 11, width: 10, channels: 2, outputs: 3, kernel: [3, 2], dilation: [2, 3], padding: .valid),
        Case(channels: 6, outputs: 9, groups: 3),
        Case(height: 9, width: 9, channels: 8, outputs: 4, strides: [2, 2], groups: 2),
        Case(kernel: [1, 1]),
        Case(height: 9, width: 9, kernel: [1, 1], strides: [2, 2], padding: .valid),
        Case(height: 6, width: 5, channels: 1, outputs: 8, kernel: [5, 3], strides: [1, 2]),
        Case(batch: 5, height: 14, width: 14, channels: 16, outputs: 32),
        Case(batch: 2, height: 7, width: 7, channels: 8, outputs: 56),  // past prefersDirectKernel: brgemm
    ]

    /// `outputs` is the depthwise multiplier here.
    static let depthwise: [Case] = [
        Case(height: 9, width: 9, channels: 6, outputs: 1),
        Case(height: 8, width: 7, channels: 4, outputs: 3, strides: [2, 2]),
        Case(batch: 1, height: 7, width: 7, channels: 5, outputs: 2, kernel: [5, 5], dilation: [2, 2]),
        Case(height: 10, width: 9, channels: 3, outputs: 1, kernel: [3, 3], strides: [2, 2], padding: .valid),
        Case(batch: 3, height: 14, width: 14, channels: 32, outputs: 1),
        Case(height: 6, width: 6, channels: 1, outputs: 4, kernel: [2, 2]),
    ]

    func testOneDNNIsAvailable() {
        XCTAssertTrue(ConvolutionBackend.oneDNNAvailable)
    }

    func testConvolutionMatchesTheReference() throws {
        for (k, c) in Self.convolutions.enumerated() {
            let g = try c.geometry()
            let x = Tensor.random(shape: [c.batch, c.height, c.width, c.channels], seed: UInt64(10 * k))
            let w = Tensor.random(shape: c.kernel + [c.channels / c.groups, c.outputs], seed: UInt64(10 * k + 1))
            let dy = Tensor.random(
                shape: [c.batch, g.outputHeight, g.outputWidth, c.outputs], seed: UInt64(10 * k + 2))
            let y = try XCTUnwrap(
                OneDNNConvolution.forward(input: x, kernel: w, geometry: g, groups: c.groups, depthwise: false),
                "\(c)")
            assertClose(y, Convolution.referenceForward(input: x, kernel: w, geometry: g, groups: c.groups), "\(c)")
            let fast = try XCTUnwrap(
                OneDNNConvolution.backward(
                    outputGradient: dy, input: x, kernel: w, geometry: g, groups: c.groups, depthwise: false,
                    inputGradient: true), "\(c)")
            let reference = Convolution.referenceBackward(
                outputGradient: dy, input: x, kernel: w, geometry: g, groups: c.groups)
            assertClose(try XCTUnwrap(fast.input), try XCTUnwrap(reference.input), "input gradient, \(c)")
            assertClose(fast.kernel, reference.kernel, "kernel gradient, \(c)")
            let kernelOnly = try XCTUnwrap(
                OneDNNConvolution.backward(
                    outputGradient: dy, input: x, kernel: w, geometry: g, groups: c.groups, depthwise: false,
                    inputGradient: false))
            XCTAssertNil(kernelOnly.input)
            XCTAssertEqual(kernelOnly.kernel, fast.kernel, "\(c)")
        }
    }

    func testDepthwiseConvolutionMatchesTheReference() throws {
        for (k, c) in Self.depthwise.enumerated() {
            let g = try c.geometry()
            let x = Tensor.random(shape: [c.batch, c.height, c.width, c.channels], seed: UInt64(10 * k + 3))
            let w = Tensor.random(shape: c.kernel + [c.channels, c.outputs], seed: UInt64(10 * k + 4))
            let dy = Tensor.random(
                shape: [c.batch, g.outputHeight, g.outputWidth, c.channels * c.outputs], seed: UInt64(10 * k + 5))
            let y = try XCTUnwrap(
                OneDNNConvolution.forward(input: x, kernel: w, geometry: g, groups: 1, depthwise: true), "\(c)")
            assertClose(y, DepthwiseConvolution.referenceForward(input: x, kernel: w, geometry: g), "\(c)")
            let fast = try XCTUnwrap(
                OneDNNConvolution.backward(
                    outputGradient: dy, input: x, kernel: w, geometry: g, groups: 1, depthwise: true,
                    inputGradient: true), "\(c)")
            let reference = DepthwiseConvolution.referenceBackward(outputGradient: dy, input: x, kernel: w, geometry: g)
            assertClose(try XCTUnwrap(fast.input), try XCTUnwrap(reference.input), "input gradient, \(c)")
            assertClose(fast.kernel, reference.kernel, "kernel gradient, \(c)")
        }
    }

    /// Bias and rectifier applied by oneDNN as it writes the output equal the reference's
    /// separate passes, for ReLU, ReLU6 and none.
    func testEpilogueMatchesTheReference() throws {
        for cap in [nil, Float.infinity, 6] as [Float?] {
            for (k, c) in [Self.convolutions[0], Self.convolutions[6], Self.convolutions[11], Self.convolutions[12]]
                .enumerated()
            {
                let g = try c.geometry()
                let x = Tensor.random(shape: [c.batch, c.height, c.width, c.channels], seed: UInt64(k), range: -3...3)
                let w = Tensor.random(shape: c.kernel + [c.channels / c.groups, c.outputs], seed: UInt64(k + 1))
                let epilogue = ConvolutionEpilogue(
                    bias: Tensor.random(shape: [c.outputs], seed: UInt64(k + 2)), rectifierCap: cap)
                let fast = try XCTUnwrap(
                    OneDNNConvolution.forward(
                        input: x, kernel: w, geometry: g, groups: c.groups, depthwise: false, epilogue: epilogue))
                var reference = Convolution.referenceForward(input: x, kernel: w, geometry: g, groups: c.groups)
                epilogue.apply(to: &reference)
                assertClose(fast, reference, "\(c), cap \(String(describing: cap))")
                if cap == 6 { XCTAssertLessThanOrEqual(fast.scalars.max() ?? 0, 6) }
            }
            let c = Self.depthwise[1]
            let g = try c.geometry()
            let x = Tensor.random(shape: [c.batch, c.height, c.width, c.channels], seed: 40, range: -3...3)
            let w = Tensor.random(shape: c.kernel + [c.channels, c.outputs], seed: 41)
            let epilogue = ConvolutionEpilogue(
                bias: Tensor.random(shape: [c.channels * c.outputs], seed: 42), rectifierCap: cap)
            let fast = try XCTUnwrap(
                OneDNNConvolution.forward(
                    input: x, kernel: w, geometry: g, groups: 1, depthwise: true, epilogue: epilogue))
            var reference = DepthwiseConvolution.referenceForward(input: x, kernel: w, geometry: g)
            epilogue.apply(to: &reference)
            assertClose(fast, reference, "depthwise \(c), cap \(String(describing: cap))")
        }
    }

    /// Which convolutions run on pairs of output columns: stride 1 and no dilation across,
    /// an even output width, a kernel wider than one column, no groups, and fewer vector
    /// blocks of work that way (8 outputs at 16 lanes: yes; 8 at 8 lanes, 24 or 40 at 16: no).
    func testColumnPairsAreUsedWhereTheySaveBlocks() throws {
        func pairs(_ c: Case, vectorWidth: Int = 16) throws -> OneDNNConvolution.ColumnPairs? {
            let x = Tensor(shape: [c.batch, c.height, c.width, c.channels])
            let w = Tensor(shape: c.kernel + [c.channels / c.groups, c.outputs])
            let p = try XCTUnwrap(
                OneDNNConvolution.Problem(
                    input: x, kernel: w, geometry: c.geometry(), groups: c.groups, depthwise: false))
            return OneDNNConvolution.ColumnPairs(p, vectorWidth: vectorWidth)
        }
        let eight = Case(height: 6, width: 8, channels: 3, outputs: 8)
        let paired = try XCTUnwrap(try pairs(eight))
        XCTAssertEqual(paired.problem.outputs, 16)
        XCTAssertEqual(paired.problem.kernelWidth, 4)
        XCTAssertEqual(paired.problem.strideWidth, 2)
        XCTAssertEqual(paired.problem.outputWidth, 4)
        XCTAssertEqual(paired.problem.outputShape.reduce(1, *), [2, 6, 8, 8].reduce(1, *))
        XCTAssertNotNil(try pairs(Case(outputs: 1)))
        XCTAssertNil(try pairs(eight, vectorWidth: 8))
        XCTAssertNil(try pairs(Case(outputs: 24)))
        XCTAssertNil(try pairs(Case(outputs: 40)))
        XCTAssertNil(try pairs(Case(width: 7, outputs: 8)))
        XCTAssertNil(try pairs(Case(outputs: 8, kernel: [3, 1])))
        XCTAssertNil(try pairs(Case(outputs: 8, strides: [1, 2])))
        XCTAssertNil(try pairs(Case(height: 9, width: 12, outputs: 8, dilation: [1, 2])))
        XCTAssertNil(try pairs(Case(channels: 4, outputs: 8, groups: 2)))
    }

    /// A convolution run on column pairs gives the reference's output, with and without its
    /// epilogue and kernel-layout cache: odd and even kernels, 'same' and 'valid', a row stride.
    func testColumnPairsMatchTheReference() throws {
        let cases = [
            Case(height: 6, width: 8, channels: 3, outputs: 8),
            Case(batch: 1, height: 5, width: 10, channels: 24, outputs: 8, kernel: [3, 5]),
            Case(height: 7, width: 6, channels: 2, outputs: 1, kernel: [2, 2]),
            Case(height: 9, width: 10, channels: 5, outputs: 3, kernel: [3, 3], strides: [2, 1], padding: .valid),
            Case(batch: 3, height: 4, width: 12, channels: 8, outputs: 6, kernel: [1, 4]),
        ]
        let cache = KernelLayoutCache()
        for (k, c) in cases.enumerated() {
            let g = try c.geometry()
            let x = Tensor.random(shape: [c.batch, c.height, c.width, c.channels], seed: UInt64(k), range: -2...2)
            let w = Tensor.random(shape: c.kernel + [c.channels, c.outputs], seed: UInt64(k + 50))
            let p = try XCTUnwrap(
                OneDNNConvolution.Problem(input: x, kernel: w, geometry: g, groups: 1, depthwise: false))
            if OneDNNConvolution.ColumnPairs.vectorWidth == 16 {
                XCTAssertNotNil(OneDNNConvolution.ColumnPairs(p, vectorWidth: 16), "\(c)")
            }
            let reference = Convolution.referenceForward(input: x, kernel: w, geometry: g)
            let plain = try XCTUnwrap(
                OneDNNConvolution.forward(input: x, kernel: w, geometry: g, groups: 1, depthwise: false))
            assertClose(plain, reference, "\(c)")
            let epilogue = ConvolutionEpilogue(
                bias: Tensor.random(shape: [c.outputs], seed: UInt64(k + 90)), rectifierCap: 6)
            var expected = reference
            epilogue.apply(to: &expected)
            for _ in 0..<2 {
                let fused = try XCTUnwrap(
                    OneDNNConvolution.forward(
                        input: x, kernel: w, geometry: g, groups: 1, depthwise: false, epilogue: epilogue,
                        kernelLayouts: cache))
                assertClose(fused, expected, "with epilogue and cache, \(c)")
            }
        }
    }

    /// Forward convolutions of up to 48 channels in and out with a window wider than a pixel run
    /// on oneDNN's direct kernel where the CPU has it, depthwise ones on its direct depthwise
    /// kernel; others on oneDNN's first choice.
    func testSmallConvolutionsPreferTheDirectKernel() throws {
        func problem(_ c: Case) throws -> OneDNNConvolution.Problem {
            try XCTUnwrap(
                OneDNNConvolution.Problem(
                    input: Tensor(shape: [c.batch, c.height, c.width, c.channels]),
                    kernel: Tensor(shape: c.kernel + [c.channels / c.groups, c.outputs]), geometry: c.geometry(),
                    groups: c.groups, depthwise: false))
        }
        let small = try problem(Case(channels: 24, outputs: 48))
        XCTAssertTrue(small.prefersDirectKernel)
        XCTAssertFalse(try problem(Case(channels: 24, outputs: 56)).prefersDirectKernel)
        XCTAssertFalse(try problem(Case(channels: 64, outputs: 8)).prefersDirectKernel)
        XCTAssertFalse(try problem(Case(kernel: [1, 1])).prefersDirectKernel)
        XCTAssertFalse(try problem(Case(channels: 6, outputs: 9, groups: 3)).prefersDirectKernel)
        XCTAssertNil(try problem(Case(channels: 6, outputs: 9, groups: 3)).preferredForwardKernel(epilogue: true))
        let depthwise = try XCTUnwrap(
            OneDNNConvolution.Problem(
                input: Tensor(shape: [1, 8, 8, 24]), kernel: Tensor(shape: [3, 3, 24, 1]), geometry: Case().geometry(),
                groups: 1, depthwise: true))
        XCTAssertEqual(depthwise.preferredForwardKernel(epilogue: true), OneDNNConvolution.Problem.depthwiseKernel)
        XCTAssertNil(depthwise.preferredForwardKernel(epilogue: false), "training's bare forward keeps brdgmm")
        let forward = OneDNNConvolution.Pass.forward(bias: true, cap: .infinity)
        let chosen = try XCTUnwrap(OneDNNConvolution.implementation(forward, small))
        if OneDNNConvolution.ColumnPairs.vectorWidth == 16 {
            XCTAssertEqual(
                OneDNNConvolution.implementation(forward, depthwise), OneDNNConvolution.Problem.depthwiseKernel)
            XCTAssertEqual(chosen, OneDNNConvolution.Problem.directKernel)
            XCTAssertNotEqual(
                OneDNNConvolution.implementation(forward, try problem(Case(channels: 64, outputs: 64))),
                OneDNNConvolution.Problem.directKernel)
        }
    }

    func testTheBackendSwitchChoosesThePath() throws {
        let c = Self.convolutions[0]
        let g = try c.geometry()
        let x = Tensor.random(shape: [c.batch, c.height, c.width, c.channels], seed: 1)
        let w = Tensor.random(shape: c.kernel + [c.channels, c.outputs], seed: 2)
        let saved = ConvolutionBackend.current
        defer { ConvolutionBackend.current = saved }
        ConvolutionBackend.current = .reference
        XCTAssertEqual(
            Convolution.forward(input: x, kernel: w, geometry: g),
            Convolution.referenceForward(input: x, kernel: w, geometry: g))
        ConvolutionBackend.current = .onednn
        XCTAssertEqual(
            Convolution.forward(input: x, kernel: w, geometry: g),
            OneDNNConvolution.forward(input: x, kernel: w, geometry: g, groups: 1, depthwise: false))
    }

    /// A fixed thread count gives the same bits every run, for every pass.
    func testTwoThreadsGiveBitIdenticalResultsRunToRun() throws {
        let saved = Compute.threads
        defer { Compute.setThreads(saved) }
        Compute.setThreads(2)
        // Large enough to be split over both threads (OneDNNConvolution.macsPerThread).
        let bigDepthwise = Case(batch: 32, height: 28, width: 28, channels: 32, outputs: 1)
        for (c, depthwise) in [(Self.convolutions[11], false), (bigDepthwise, true)] {
            let g = try c.geometry()
            let x = Tensor.random(shape: [c.batch, c.height, c.width, c.channels], seed: 5)
            let w = Tensor.random(
                shape: c.kernel + [depthwise ? c.channels : c.channels / c.groups, c.outputs], seed: 6)
            let f = depthwise ? c.channels * c.outputs : c.outputs
            let dy = Tensor.random(shape: [c.batch, g.outputHeight, g.outputWidth, f], seed: 7)
            func run() throws -> [Tensor] {
                let y = try XCTUnwrap(
                    OneDNNConvolution.forward(input: x, kernel: w, geometry: g, groups: 1, depthwise: depthwise))
                let b = try XCTUnwrap(
                    OneDNNConvolution.backward(
                        outputGradient: dy, input: x, kernel: w, geometry: g, groups: 1, depthwise: depthwise,
                        inputGradient: true))
                return [y, try XCTUnwrap(b.input), b.kernel]
            }
            let first = try run()
            for _ in 0..<3 { XCTAssertEqual(try run(), first, "\(c), depthwise \(depthwise)") }
        }
    }

    /// oneDNN's OpenMP threads read subnormal inputs as zero, as every other computing thread does.
    func testOneDNNThreadsFlushSubnormals() throws {
        let saved = Compute.threads
        defer { Compute.setThreads(saved) }
        Compute.setThreads(2)
        let c = Self.convolutions[11]
        let g = try c.geometry()
        let x = Tensor(shape: [c.batch, c.height, c.width, c.channels], repeating: 1e-39)
        let w = Tensor(shape: c.kernel + [c.channels, c.outputs], repeating: 1)
        let y = try XCTUnwrap(OneDNNConvolution.forward(input: x, kernel: w, geometry: g, groups: 1, depthwise: false))
        XCTAssertEqual(y.scalars.filter { $0 != 0 }.count, 0)
    }
}
