import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

/// Element-wise merges whose inputs broadcast (squeeze-excitation's `[H, W, C] * [1, 1, C]`).
final class MergeBroadcastTests: XCTestCase {
    /// `x[n, h, w, c]` read from a tensor of shape `[N, h', w', c']` whose extents are the
    /// output's or 1 (an independent index computation).
    private func value(_ x: Tensor, _ n: Int, _ h: Int, _ w: Int, _ c: Int) -> Float {
        let s = x.shape
        let (hh, ww, cc) = (s[1] == 1 ? 0 : h, s[2] == 1 ? 0 : w, s[3] == 1 ? 0 : c)
        return x.scalars[((n * s[1] + hh) * s[2] + ww) * s[3] + cc]
    }

    /// Applies `op` to the broadcast inputs at every output position `[N, H, W, C]`.
    private func reference(_ inputs: [Tensor], shape: [Int], _ op: ([Float]) -> Float) -> Tensor {
        var y = Tensor(shape: shape)
        var i = 0
        for n in 0..<shape[0] {
            for h in 0..<shape[1] {
                for w in 0..<shape[2] {
                    for c in 0..<shape[3] {
                        y.scalars[i] = op(inputs.map { value($0, n, h, w, c) })
                        i += 1
                    }
                }
            }
        }
        return y
    }

    func testMultiply_squeezeExcitationGateBroadcastsInEitherOrder() throws {
        let x = batch(2, [4, 5, 3], seed: 1), gate = batch(2, [1, 1, 3], seed: 2)
        let expected = reference([x, gate], shape: [2, 4, 5, 3]) { $0[0] * $0[1] }
        XCTAssertEqual(try Multiply().outputShape(for: [[4, 5, 3], [1, 1, 3]]), [4, 5, 3])
        XCTAssertEqual(try Multiply().outputShape(for: [[1, 1, 3], [4, 5, 3]]), [4, 5, 3])
        assertClose(try evaluate(Multiply(), x, gate), expected, tolerance: 1e-6)
        assertClose(try evaluate(Multiply(), gate, x), expected, tolerance: 1e-6)
        // A rank-1 gate [C] is aligned at the right, as NumPy and Keras do.
        let flat = try gate.reshaped([2, 3])
        XCTAssertEqual(try Multiply().outputShape(for: [[4, 5, 3], [3]]), [4, 5, 3])
        assertClose(try evaluate(Multiply(), x, flat), expected, tolerance: 1e-6)
    }

    func testBroadcastBackward_sumsTheGradientOverTheBroadcastAxes() throws {
        let x = Tensor.literal([1, 2, 2, 1], [1, 2, 3, 4]), gate = Tensor.literal([1, 1, 1, 1], [2])
        let context = ForwardContext(training: true)
        let out = try Multiply().forward([x, gate], context: context)
        XCTAssertEqual(out.value.scalars, [2, 4, 6, 8])
        let g = try Multiply().backward(
            Tensor(shape: [1, 2, 2, 1], repeating: 1), inputs: [x, gate], output: out, context: context)
        XCTAssertEqual(g.inputs[0], Tensor(shape: [1, 2, 2, 1], repeating: 2))
        XCTAssertEqual(g.inputs[1], Tensor.literal([1, 1, 1, 1], [10]))
        let sums = try Add().backward(
            Tensor.literal([1, 2, 2, 1], [1, 2, 3, 4]), inputs: [x, gate], output: out, context: context)
        XCTAssertEqual(sums.inputs[1], Tensor.literal([1, 1, 1, 1], [10]))
    }

    func testMultiply_broadcastGradientCheck() throws {
        let x = batch(2, [4, 5, 3], seed: 3), gate = batch(2, [1, 1, 3], seed: 4)
        try checkGradients(Multiply(), inputs: [x, gate])
        try checkGradients(Multiply(), inputs: [gate, x])
        try checkGradients(Multiply(), inputs: [x, try gate.reshaped([2, 3])])
        try checkGradients(Multiply(), inputs: [x, gate, batch(2, [4, 1, 1], seed: 5)])
    }

    func testAddSubtractAverageMaximum_broadcastLikeMultiply() throws {
        let x = batch(2, [3, 4, 2], seed: 6), row = batch(2, [3, 1, 2], seed: 7), gate = batch(2, [1, 1, 2], seed: 8)
        let cases: [(layer: any Layer, op: ([Float]) -> Float)] = [
            (Add(), { $0.reduce(0, +) }),
            (Average(), { $0.reduce(0, +) / Float($0.count) }),
            (Maximum(), { $0.max()! }),
        ]
        for (layer, op) in cases {
            for inputs in [[x, row], [gate, x], [x, row, gate]] {
                let y = try layer.forward(inputs, context: .inference).value
                assertClose(
                    y, reference(inputs, shape: [2, 3, 4, 2], op), tolerance: 1e-6,
                    "\(layer.kerasClassName) \(inputs.map(\.shape))")
            }
        }
        assertClose(
            try evaluate(Subtract(), gate, x), reference([gate, x], shape: [2, 3, 4, 2]) { $0[0] - $0[1] },
            tolerance: 1e-6)
        assertClose(
            try evaluate(Subtract(), x, row), reference([x, row], shape: [2, 3, 4, 2]) { $0[0] - $0[1] },
            tolerance: 1e-6)
    }

    func testAddSubtractAverageMaximum_broadcastGradientCheck() throws {
        let x = batch(2, [3, 4, 2], seed: 9), row = batch(2, [3, 1, 2], seed: 10), gate = batch(2, [1, 1, 2], seed: 11)
        try checkGradients(Add(), inputs: [x, row, gate])
        try checkGradients(Subtract(), inputs: [x, gate])
        try checkGradients(Subtract(), inputs: [row, x])
        try checkGradients(Average(), inputs: [gate, x])
        // Distinct values keep every maximum clear of the others under perturbation.
        let v = Tensor.distinctValues(shape: [2 * 24 + 2 * 2], seed: 12)
        let big = Tensor.literal([2, 3, 4, 2], Array(v.scalars[0..<48])),
            small = Tensor.literal([2, 1, 1, 2], Array(v.scalars[48..<52]))
        try checkGradients(Maximum(), inputs: [big, small])
        try checkGradients(Maximum(), inputs: [small, big])
    }

    func testBroadcastChannelMap_isTiedUnlessChannelsThemselvesBroadcast() throws {
        XCTAssertEqual(try Multiply().channelMap(inputShapes: [[4, 4, 3], [1, 1, 3]]), .tied)
        XCTAssertEqual(try Multiply().channelMap(inputShapes: [[1, 1, 3], [4, 4, 3]]), .tied)
        XCTAssertEqual(try Add().channelMap(inputShapes: [[4, 4, 3], [3]]), .tied)
        XCTAssertEqual(try Maximum().channelMap(inputShapes: [[4, 4, 3], [4, 1, 3]]), .tied)
        assertThrows(
            try Multiply().channelMap(inputShapes: [[4, 4, 3], [4, 4, 1]]),
            "Multiply broadcasts input 1 of shape [4, 4, 1] over 3 channels; surgery supports broadcasting over the "
                + "other axes only "
                + "(each input with the output's channel count)")
        assertThrows(
            try Subtract().channelMap(inputShapes: [[4, 4, 1], [4, 4, 3]]),
            "Subtract broadcasts input 0 of shape [4, 4, 1] over 3 channels; surgery supports broadcasting over the "
                + "other axes only "
                + "(each input with the output's channel count)")
    }

    func testSqueezeExcitationBlock_prunesExactly() throws {
        // MobileNetV3/EfficientNet: x -> GAP -> Reshape(1, 1, C) -> 1x1 swish -> 1x1 sigmoid -> x * gate.
        var b = GraphBuilder()
        let input = b.add(InputLayer(shape: [6, 6, 3]), name: "input")
        let x = b.add(
            Conv2D(filters: 6, kernelSize: [3, 3], padding: .same, activation: .swish), name: "features",
            inputs: [input])
        let pooled = b.add(GlobalAveragePooling2D(), name: "squeeze", inputs: [x])
        let shaped = b.add(try Reshape(targetShape: [1, 1, 6]), name: "reshape", inputs: [pooled])
        let reduced = b.add(
            Conv2D(filters: 2, kernelSize: [1, 1], activation: .swish), name: "reduce", inputs: [shaped])
        let gate = b.add(
            Conv2D(filters: 6, kernelSize: [1, 1], activation: .sigmoid), name: "expand", inputs: [reduced])
        let scaled = b.add(Multiply(), name: "excite", inputs: [x, gate])
        let head = b.add(Conv2D(filters: 3, kernelSize: [1, 1]), name: "project", inputs: [scaled])
        let out = b.add(
            Dense(units: 2), name: "out", inputs: [b.add(GlobalAveragePooling2D(), name: "gap", inputs: [head])])
        var graph = try b.build(outputs: [out], seed: 1)
        try randomizeWeights(&graph, seed: 2)
        let analysis = try Surgeon.standard.analyze(graph)
        let group = analysis.groups[analysis.outputChannels[graph.index(of: "features")!][0].group]
        XCTAssertEqual(
            group.members.map(\.layer), ["features", "squeeze", "reshape", "reduce", "expand", "excite", "project"])
        let plan = PruningPlan(
            groups: analysis.groups.map {
                $0.id == group.id ? PruningPlan.Group($0, delete: [1, 4]) : PruningPlan.Group($0)
            })
        let pruned = try assertPruningIsExact(
            graph, plan: plan, surgeon: .standard, inputs: [batch(2, [6, 6, 3], seed: 3)])
        XCTAssertEqual((pruned["reshape"]?.layer as? Reshape)?.targetShape, [1, 1, 4])
        XCTAssertEqual(pruned.shapes[pruned.index(of: "excite")!], [6, 6, 4])
    }
}
