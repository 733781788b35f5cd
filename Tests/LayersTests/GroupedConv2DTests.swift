import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// Conv2D with `groups` > 1: forward against the grouped reference, backward against finite
/// differences, the Keras `groups` key, shape checks and the layer's own surgery rule.
final class GroupedConv2DTests: XCTestCase {
    private func grouped(
        _ c: WindowCase, groups: Int, filters: Int, useBias: Bool = true, activation: String = "linear", seed: UInt64
    ) throws -> Conv2D {
        var config = c.config
        config["filters"] = .number(Double(filters))
        config["groups"] = .number(Double(groups))
        config["use_bias"] = .bool(useBias)
        config["activation"] = .string(activation)
        return try withRandomWeights(try make(Conv2D.self, config), inputShapes: [c.inputShape], seed: seed)
    }

    /// Every window case, with 6 input channels in 2 and 3 groups.
    private var cases: [(WindowCase, groups: Int)] {
        WindowCase.all.flatMap { c -> [(WindowCase, groups: Int)] in
            var six = c
            six.channels = 6
            return [(six, 2), (six, 3)]
        }
    }

    func testGroupedConv2D_matchesGroupedReference() throws {
        for (k, (c, groups)) in cases.enumerated() {
            for useBias in [true, false] {
                let layer = try grouped(c, groups: groups, filters: 6, useBias: useBias, seed: UInt64(k) + 1)
                XCTAssertEqual(layer.weights[0].shape, c.kernel + [6 / groups, 6])
                let x = batch(2, c.inputShape, seed: UInt64(k) + 100)
                let expected = Reference.conv2D(
                    input: x, kernel: layer.weights[0], bias: useBias ? layer.weights[1] : nil, strides: c.strides,
                    dilation: c.dilation, same: c.same, groups: groups)
                assertClose(
                    try evaluate(layer, x), expected, tolerance: 1e-5, "\(c), \(groups) groups, bias \(useBias)")
            }
        }
    }

    func testGroupedReference_isTheConcatenationOfPerGroupConvolutions() throws {
        // Group k of a 2-group convolution is a plain convolution of input channels 3k..<3k+3
        // with kernel columns 2k..<2k+2.
        let x = batch(2, [5, 6, 6], seed: 1)
        let kernel = Tensor.random(shape: [3, 3, 3, 4], seed: 2)
        let whole = Reference.conv2D(input: x, kernel: kernel, same: true, groups: 2)
        for k in 0..<2 {
            let part = Reference.conv2D(
                input: x.selecting(Array((3 * k)..<(3 * k + 3)), alongAxis: 3),
                kernel: kernel.selecting(Array((2 * k)..<(2 * k + 2)), alongAxis: 3), same: true)
            XCTAssertEqual(whole.selecting(Array((2 * k)..<(2 * k + 2)), alongAxis: 3), part, "group \(k)")
        }
    }

    func testGroupedConv2D_gradientCheck() throws {
        var worst = GradientCheckReport()
        for (k, (c, groups)) in cases.enumerated() where k % 3 == 0 || c.kernel == [1, 1] {
            let layer = try grouped(c, groups: groups, filters: 6, useBias: k % 2 == 0, seed: UInt64(k) + 200)
            let x = batch(2, c.inputShape, seed: UInt64(k) + 300)
            let report = try checkGradients(layer, inputs: [x], label: "\(c), \(groups) groups")
            XCTAssertGreaterThan(report.checkedElements, 0)
            worst.maxAbsoluteError = max(worst.maxAbsoluteError, report.maxAbsoluteError)
            worst.worstRatio = max(worst.worstRatio, report.worstRatio)
        }
        print(
            "grouped Conv2D gradient check: max |analytic - numeric| \(worst.maxAbsoluteError), worst ratio \(worst.worstRatio)"
        )
    }

    func testGroupedConv2D_batchSplitIntoIm2colChunks_matchesPerSampleResults() throws {
        let c = WindowCase(kernel: [3, 3], same: true, size: [128, 128], channels: 32)
        let layer = try grouped(c, groups: 4, filters: 8, seed: 11)
        try assertBatchMatchesSamples(
            layer, batch(3, c.inputShape, seed: 12), gradientSeed: 13, kernelMessage: "grouped kernel gradient")
    }

    func testGroupedConv2D_isDeterministicForAFixedThreadCount() throws {
        let c = WindowCase(kernel: [3, 3], strides: [2, 2], same: true, size: [9, 9], channels: 8)
        let layer = try grouped(c, groups: 4, filters: 8, seed: 21)
        let x = batch(7, c.inputShape, seed: 22)
        let before = Compute.threads
        defer { Compute.setThreads(before) }
        Compute.setThreads(3)
        func run() throws -> [Tensor] {
            let out = try layer.forward([x], context: ForwardContext(training: true))
            let g = try layer.backward(out.value, inputs: [x], output: out, context: ForwardContext(training: true))
            return [out.value] + g.inputs + g.weights
        }
        XCTAssertEqual(try run(), try run())
    }

    func testGroupedConv2D_configRoundTripsTheKerasGroupsKey() throws {
        let layer = try make(Conv2D.self, ["filters": 8, "kernel_size": 3, "groups": 4])
        XCTAssertEqual(layer.groups, 4)
        XCTAssertEqual(layer.config["groups"], 4)
        assertConfigRoundTrip(layer)
        XCTAssertEqual(try make(Conv2D.self, ["filters": 8, "kernel_size": 3]).config["groups"], 1)
        XCTAssertEqual(try layer.weightShapes(for: [[5, 7, 12]]), [[3, 3, 3, 8], [8]])
        let out = try layer.outputShape(for: [[5, 7, 12]])
        XCTAssertEqual(layer.macs(inputShapes: [[5, 7, 12]], outputShape: out), 3 * 5 * 8 * 9 * 3)
    }

    func testGroupedConv2D_refusesChannelsThatGroupsDoNotDivide() throws {
        let layer = try make(Conv2D.self, ["filters": 8, "kernel_size": 3, "groups": 4])
        assertThrows(
            try layer.outputShape(for: [[5, 7, 6]]),
            "Conv2D with groups = 4 needs input and output channels divisible by 4; it has 6 input channels and 8 "
                + "filters")
        var built = try withRandomWeights(layer, inputShapes: [[5, 7, 8]], seed: 1)
        built.weights[0] = Tensor(shape: [3, 3, 2, 8])
        assertThrows(
            try evaluate(built, batch(1, [5, 7, 6], seed: 2)), containing: ["8 input channels", "[1, 5, 7, 6]"])
    }

    func testGroupedConv2D_prunedKeepsEachFiltersOwnGroupInputs() throws {
        // 2 groups of 3 inputs and 2 filters: keep inputs 0, 2 (group 0) and 4, 5 (group 1),
        // filters 1 (group 0) and 2 (group 1). The pruned layer equals the original on inputs
        // whose deleted channels are zero, at the kept filters.
        let c = WindowCase(kernel: [3, 3], same: true, size: [5, 6], channels: 6)
        let layer = try grouped(c, groups: 2, filters: 4, seed: 31)
        let pruned = try layer.pruned(keptInputs: [[0, 2, 4, 5]], keptOutputs: [1, 2], inputShapes: [c.inputShape])
        XCTAssertEqual(pruned.weights[0].shape, [3, 3, 2, 2])
        var x = batch(2, c.inputShape, seed: 32)
        for e in stride(from: 0, to: x.count, by: 6) { x.scalars[e + 1] = 0; x.scalars[e + 3] = 0 }
        let expected = try evaluate(layer, x).selecting([1, 2], alongAxis: 3)
        assertClose(try evaluate(pruned, x.selecting([0, 2, 4, 5], alongAxis: 3)), expected, tolerance: 1e-5)
        assertThrows(
            try layer.pruned(keptInputs: [[0, 1, 4]], keptOutputs: [1, 2], inputShapes: [c.inputShape]),
            "a Conv2D with 2 groups keeps the same number of channels in every group, at least one; the plan keeps "
                + "[2, 1] input and [1, 1] output channels per group")
    }

    func testGroupedConv2D_foldsConstantInputsIntoItsOwnGroupsBias() throws {
        let c = WindowCase(kernel: [3, 3], size: [5, 6], channels: 6)
        let layer = try grouped(c, groups: 3, filters: 6, seed: 41)
        var x = batch(2, c.inputShape, seed: 42)
        let constants: [Int: Float] = [1: 0.5, 4: -2]
        for e in stride(from: 0, to: x.count, by: 6) { x.scalars[e + 1] = 0.5; x.scalars[e + 4] = -2 }
        var zeroed = x
        for e in stride(from: 0, to: x.count, by: 6) { zeroed.scalars[e + 1] = 0; zeroed.scalars[e + 4] = 0 }
        let folded = try XCTUnwrap(try layer.foldingConstantInputs(constants, inputShapes: [c.inputShape]))
        XCTAssertTrue(folded.exact)
        assertClose(try evaluate(folded.layer, zeroed), try evaluate(layer, x), tolerance: 1e-4)
    }

    func testGroupedConv2D_declaresItsBlocksAndGroupedInputAxis() throws {
        let layer = Conv2D(filters: 8, kernelSize: [3, 3], groups: 4)
        XCTAssertEqual(try layer.channelBlocks(inputShapes: [[5, 5, 8]]), ChannelBlocks(input: 4, output: 4))
        XCTAssertEqual(layer.weightChannelAxes[0], WeightChannelAxes(output: 3, input: 2, inputBlocks: 4))
        XCTAssertEqual(
            try Conv2D(filters: 8, kernelSize: [3, 3]).channelBlocks(inputShapes: [[5, 5, 8]]), ChannelBlocks())
    }
}
