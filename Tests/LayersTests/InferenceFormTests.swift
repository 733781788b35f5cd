import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class InferenceFormTests: XCTestCase {
    /// conv -> BN -> ReLU, depthwise -> BN -> ReLU6 (Keras `ReLU(max_value=6)`), a conv read by
    /// a ReLU and an Add (not fused), a leaky ReLU (not fused), Dense -> Activation('relu').
    static func graph() throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [7, 6, 3]), name: "input")
        var y = b.add(
            Conv2D(filters: 8, kernelSize: [3, 3], padding: .same, useBias: false), name: "conv", inputs: [x])
        y = b.add(BatchNormalization(), name: "conv_bn", inputs: [y])
        y = b.add(ReLU(), name: "conv_relu", inputs: [y])
        y = b.add(DepthwiseConv2D(kernelSize: [3, 3], strides: [2, 2], padding: .same), name: "dw", inputs: [y])
        y = b.add(BatchNormalization(), name: "dw_bn", inputs: [y])
        y = b.add(ReLU(maxValue: 6), name: "dw_relu6", inputs: [y])
        let shared = b.add(Conv2D(filters: 8, kernelSize: [1, 1]), name: "shared", inputs: [y])
        let rectified = b.add(ReLU(), name: "shared_relu", inputs: [shared])
        y = b.add(Add(), name: "sum", inputs: [shared, rectified])
        y = b.add(Conv2D(filters: 4, kernelSize: [3, 3]), name: "leaky_conv", inputs: [y])
        y = b.add(ReLU(negativeSlope: 0.1), name: "leaky", inputs: [y])
        y = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [y])
        y = b.add(Dense(units: 6), name: "dense", inputs: [y])
        y = b.add(Activation(.relu), name: "dense_relu", inputs: [y])
        y = b.add(Dense(units: 3), name: "out", inputs: [y])
        var graph = try b.build(outputs: [y], seed: 9)
        try randomizeBatchNorms(&graph)
        return graph
    }

    func testInferenceForm_foldsAndFuses_andKeepsTheOutputs() throws {
        let graph = try Self.graph()
        let prepared = try InferenceForm.prepared(graph)
        XCTAssertEqual(
            prepared.nodes.map(\.name),
            ["input", "conv", "dw", "shared", "shared_relu", "sum", "leaky_conv", "leaky", "gap", "dense", "out"])
        let activation = { (name: String) in
            prepared.nodes.first { $0.name == name }?.layer.config["activation"]?.stringValue
        }
        XCTAssertEqual(activation("conv"), "relu")
        XCTAssertEqual(activation("dw"), "relu6")
        XCTAssertEqual(activation("shared"), "linear", "read by the Add too: not fused")
        XCTAssertEqual(activation("leaky_conv"), "linear", "a leaky ReLU is not a rectifier the convolution fuses")
        XCTAssertEqual(activation("dense"), "relu")
        let x = batch(5, [7, 6, 3], seed: 3, range: -2...2)
        for backend in ConvolutionBackend.allCases {
            let saved = ConvolutionBackend.current
            defer { ConvolutionBackend.current = saved }
            ConvolutionBackend.current = backend
            assertClose(try prepared.predict([x])[0], try graph.predict([x])[0], tolerance: 1e-4, "\(backend)")
        }
    }

    /// The prepared graph keeps its kernels in oneDNN's layouts (one reorder per kernel), and
    /// weights set afterwards are the weights it predicts with.
    func testInferenceForm_keepsKernelLayouts_andFollowsNewWeights() throws {
        let graph = try Self.graph()
        var prepared = try InferenceForm.prepared(graph)
        let cache = try XCTUnwrap(prepared.kernelLayouts)
        let x = batch(2, [7, 6, 3], seed: 5, range: -2...2)
        let first = try prepared.predict([x])[0]
        let held = cache.count
        XCTAssertEqual(try prepared.predict([x])[0], first)
        XCTAssertEqual(cache.count, held, "the second prediction reorders nothing")
        let conv = try XCTUnwrap(prepared.index(of: "conv"))
        var weights = prepared.nodes[conv].layer.weights
        for i in weights[0].scalars.indices { weights[0].scalars[i] *= -1 }
        try prepared.setWeights(weights, ofNode: conv)
        var fresh = prepared
        fresh.kernelLayouts = nil
        let changed = try prepared.predict([x])[0]
        XCTAssertEqual(changed, try fresh.predict([x])[0])
        XCTAssertNotEqual(changed, first)
    }

    /// The inference form predicts through its layers' prepared passes (kept per input
    /// shape); they give the unprepared passes' outputs bit for bit, on both backends, at the
    /// thread counts, and again after the batch size changes back.
    func testPreparedPassesGiveTheUnpreparedOutputs() throws {
        let prepared = try InferenceForm.prepared(try Self.graph())
        var unprepared = prepared
        unprepared.kernelLayouts = nil
        let savedBackend = ConvolutionBackend.current, savedThreads = Compute.threads
        defer {
            ConvolutionBackend.current = savedBackend
            Compute.setThreads(savedThreads)
        }
        for backend in ConvolutionBackend.allCases {
            ConvolutionBackend.current = backend
            for threads in [1, 2] {
                Compute.setThreads(threads)
                for (k, size) in [1, 4, 1, 64].enumerated() {
                    let x = batch(size, [7, 6, 3], seed: UInt64(k), range: -2...2)
                    XCTAssertEqual(
                        try prepared.predict([x])[0], try unprepared.predict([x])[0],
                        "\(backend), \(threads) threads, batch \(size)")
                }
            }
        }
    }

    /// On one thread, a batch whose activations outgrow the cache budget runs in chunks of a
    /// few samples (here 2: two 28x28x64 tensors of floats alive per sample); the joined outputs are the
    /// whole batch's (the unprepared graph's, which runs it at once), a last, smaller chunk
    /// included.
    func testChunkedBatch_givesTheWholeBatchsOutputs() throws {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [28, 28, 3]), name: "input")
        var y = b.add(Conv2D(filters: 64, kernelSize: [3, 3], padding: .same), name: "conv1", inputs: [x])
        y = b.add(BatchNormalization(), name: "bn", inputs: [y])
        y = b.add(ReLU(), name: "relu", inputs: [y])
        y = b.add(Conv2D(filters: 64, kernelSize: [3, 3], padding: .same), name: "conv2", inputs: [y])
        y = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [y])
        y = b.add(Dense(units: 5), name: "out", inputs: [y])
        var graph = try b.build(outputs: [y], seed: 4)
        try randomizeBatchNorms(&graph)
        let prepared = try InferenceForm.prepared(graph)
        var unprepared = prepared
        unprepared.kernelLayouts = nil
        let saved = Compute.threads
        defer { Compute.setThreads(saved) }
        Compute.setThreads(1)
        let input = batch(11, [28, 28, 3], seed: 8, range: -2...2)
        assertClose(try prepared.predict([input])[0], try unprepared.predict([input])[0], tolerance: 1e-5)
        assertClose(try prepared.predict([input])[0], try graph.predict([input])[0], tolerance: 1e-4)
    }

    func testInferenceForm_ofAGraphWithNothingToFuse_isTheGraph() throws {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [4]), name: "input")
        let y = b.add(Dense(units: 2, activation: .softmax), name: "out", inputs: [x])
        let graph = try b.build(outputs: [y], seed: 1)
        XCTAssertEqual(try InferenceForm.prepared(graph).nodes.map(\.name), ["input", "out"])
    }
}
