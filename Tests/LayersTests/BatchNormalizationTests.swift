import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class BatchNormalizationTests: XCTestCase {
    /// A layer with non-trivial gamma, beta and moving statistics (positive variance).
    private func bn(
        channels: Int, center: Bool = true, scale: Bool = true, momentum: Double = 0.9,
        epsilon: Double = 1e-3, seed: UInt64
    ) throws -> BatchNormalization {
        var layer = try make(
            BatchNormalization.self,
            [
                "center": .bool(center), "scale": .bool(scale),
                "momentum": .number(momentum), "epsilon": .number(epsilon),
            ])
        var weights: [Tensor] = []
        if scale { weights.append(Tensor.random(shape: [channels], seed: seed, range: 0.5...2)) }
        if center { weights.append(Tensor.random(shape: [channels], seed: seed + 1, range: -1...1)) }
        weights.append(Tensor.random(shape: [channels], seed: seed + 2, range: -0.5...0.5))
        weights.append(Tensor.random(shape: [channels], seed: seed + 3, range: 0.5...1.5))
        layer.weights = weights
        return layer
    }

    func testBatchNormalizationInference_usesMovingStatistics() throws {
        for (center, scale) in [(true, true), (false, true), (true, false), (false, false)] {
            let layer = try bn(channels: 3, center: center, scale: scale, seed: 1)
            let p = layer.parameters
            let x = batch(2, [5, 7, 3], seed: 2, range: -2...2)
            let expected = Reference.batchNorm(
                input: x, mean: p.mean, variance: p.variance, gamma: p.gamma, beta: p.beta,
                epsilon: layer.epsilon)
            let out = try layer.forward([x], context: .inference)
            assertClose(out.value, expected, tolerance: 1e-5, "center \(center) scale \(scale)")
            XCTAssertNil(out.updatedState, "inference does not move the statistics")
        }
        // The absent gamma/beta default to 1 and 0.
        let bare = try bn(channels: 2, center: false, scale: false, seed: 3)
        XCTAssertEqual(bare.parameters.gamma, [1, 1])
        XCTAssertEqual(bare.parameters.beta, [0, 0])
    }

    func testBatchNormalizationTraining_usesBatchStatisticsAndMovesTheMovingOnes() throws {
        let momentum: Float = 0.9
        let layer = try bn(channels: 3, momentum: Double(momentum), seed: 4)
        let x = batch(4, [5, 7, 3], seed: 5, range: -1...3)
        let out = try layer.forward([x], context: ForwardContext(training: true, seed: 1))
        let (mean, variance) = Reference.channelMoments(x)
        let p = layer.parameters
        let expected = Reference.batchNorm(
            input: x, mean: mean, variance: variance, gamma: p.gamma, beta: p.beta,
            epsilon: layer.epsilon)
        assertClose(out.value, expected, tolerance: 1e-5)

        let state = try XCTUnwrap(out.updatedState)
        XCTAssertEqual(state.count, 2)
        for c in 0..<3 {
            XCTAssertEqual(state[0].scalars[c], momentum * p.mean[c] + (1 - momentum) * mean[c], accuracy: 1e-6)
            // Biased batch variance (divided by m, not m - 1), as Keras's moving variance update uses.
            XCTAssertEqual(state[1].scalars[c], momentum * p.variance[c] + (1 - momentum) * variance[c], accuracy: 1e-5)
        }
        XCTAssertEqual(layer.weights[2].scalars, p.mean, "forward does not mutate the layer")
    }

    func testBatchNormalizationTraining_normalisesEachChannel() throws {
        var layer = try make(BatchNormalization.self, ["epsilon": 1e-5])
        layer.weights = [
            Tensor(shape: [2], repeating: 1), Tensor(shape: [2]), Tensor(shape: [2]), Tensor(shape: [2], repeating: 1),
        ]
        let x = Tensor.literal([4, 2], [1, 10, 2, 20, 3, 30, 4, 40])
        let y = try evaluate(layer, x, training: true)
        let (mean, variance) = Reference.channelMoments(y)
        XCTAssertEqual(mean[0], 0, accuracy: 1e-6)
        XCTAssertEqual(mean[1], 0, accuracy: 1e-5)
        XCTAssertEqual(variance[0], 1, accuracy: 1e-3)
        XCTAssertEqual(variance[1], 1, accuracy: 1e-3)
        // Keras convention: 0.99 * moving + 0.01 * batch; batch mean 2.5, biased variance 1.25.
        let state = try layer.forward([x], context: ForwardContext(training: true)).updatedState!
        XCTAssertEqual(state[0].scalars[0], 0.025, accuracy: 1e-6)
        XCTAssertEqual(state[1].scalars[0], 0.99 + 0.01 * 1.25, accuracy: 1e-6)
    }

    func testBatchNormalizationTraining_largeBatchMatchesReference() throws {
        // 4 x 15 x 15 = 900 rows per channel: several reduction chunks and 64-row blocks.
        let layer = try bn(channels: 5, momentum: 0, seed: 20)
        let x = batch(4, [15, 15, 5], seed: 21, range: -3...5)
        let out = try layer.forward([x], context: ForwardContext(training: true))
        let (mean, variance) = Reference.channelMoments(x)
        let p = layer.parameters
        assertClose(
            out.value,
            Reference.batchNorm(
                input: x, mean: mean, variance: variance, gamma: p.gamma, beta: p.beta,
                epsilon: layer.epsilon), tolerance: 1e-5)
        // Momentum 0: the new moving statistics are the batch statistics.
        assertClose(out.updatedState![0], Tensor.literal([5], mean), tolerance: 1e-6)
        assertClose(out.updatedState![1], Tensor.literal([5], variance), tolerance: 1e-6)
        XCTAssertEqual(try layer.forward([x], context: ForwardContext(training: true)).value, out.value, "reproducible")
        try checkGradients(layer, inputs: [x])
    }

    func testBatchNormalizationTraining_varianceSurvivesALargeMean() throws {
        // Mean 1000, standard deviation ~0.006: a one-pass E[x^2] - E[x]^2 in Float would lose it.
        let layer = try bn(channels: 2, momentum: 0, seed: 22)
        let x = batch(8, [4, 4, 2], seed: 23, range: 999.99...1000.01)
        let state = try layer.forward([x], context: ForwardContext(training: true)).updatedState!
        let (_, variance) = Reference.channelMoments(x)
        for c in 0..<2 {
            XCTAssertEqual(state[1].scalars[c], variance[c], accuracy: variance[c] * 1e-3, "channel \(c)")
        }
    }

    func testBatchNormalizationTraining_inputGradientSurvivesALargeMean() throws {
        // The backward pass recomputes the normalised input from x and the batch mean; with a
        // mean of 1e6 (Float spacing 0.06) it must centre before scaling: x * z - mean * z
        // loses ~1e-2 of a result near 1 to cancellation.
        let layer = try bn(channels: 2, seed: 24)
        let x = batch(8, [4, 4, 2], seed: 25, range: 999_998...1_000_002)
        let dy = batch(8, [4, 4, 2], seed: 26)
        let context = ForwardContext(training: true)
        let output = try layer.forward([x], context: context)
        let dx = try layer.backward(dy, inputs: [x], output: output, context: context).inputs[0]
        let gamma = layer.parameters.gamma
        let (mean, variance) = Reference.channelMoments(x)
        let m = Double(x.count / 2)
        var expected = Tensor(shape: x.shape)
        for c in 0..<2 {
            let invstd = 1 / (Double(variance[c]) + Double(layer.epsilon)).squareRoot()
            var sumDy = 0.0, sumDyXhat = 0.0
            for i in stride(from: c, to: x.count, by: 2) {
                sumDy += Double(dy.scalars[i])
                sumDyXhat += Double(dy.scalars[i]) * (Double(x.scalars[i]) - Double(mean[c])) * invstd
            }
            for i in stride(from: c, to: x.count, by: 2) {
                let xhat = (Double(x.scalars[i]) - Double(mean[c])) * invstd
                let value = Double(gamma[c]) * invstd / m * (m * Double(dy.scalars[i]) - sumDy - xhat * sumDyXhat)
                expected.scalars[i] = Float(value)
            }
        }
        assertClose(dx, expected, tolerance: 1e-3)
    }

    func testBatchNormalizationTraining_gradientCheck() throws {
        try checkGradients(try bn(channels: 3, seed: 6), inputs: [batch(2, [5, 7, 3], seed: 7, range: -2...2)])
        try checkGradients(try bn(channels: 4, seed: 8), inputs: [batch(6, [4], seed: 9, range: -2...2)])
        try checkGradients(try bn(channels: 2, center: false, seed: 10), inputs: [batch(2, [3, 3, 2], seed: 11)])
        try checkGradients(try bn(channels: 2, scale: false, seed: 12), inputs: [batch(2, [3, 3, 2], seed: 13)])
        try checkGradients(
            try bn(channels: 2, center: false, scale: false, seed: 14), inputs: [batch(3, [2, 2, 2], seed: 15)])
    }

    func testBatchNormalization_weightsAndInitialisation() throws {
        let layer = try make(BatchNormalization.self)
        XCTAssertEqual(layer.weightNames, ["gamma", "beta", "moving_mean", "moving_variance"])
        XCTAssertEqual(layer.trainableWeightCount, 2)
        XCTAssertEqual(try layer.weightShapes(for: [[5, 7, 3]]), [[3], [3], [3], [3]])
        var random = SeededRandom(seed: 1)
        XCTAssertEqual(
            try layer.initialWeights(for: [[5, 7, 3]], random: &random),
            [
                Tensor(shape: [3], repeating: 1), Tensor(shape: [3]), Tensor(shape: [3]),
                Tensor(shape: [3], repeating: 1),
            ])
        let noScale = try make(BatchNormalization.self, ["scale": false])
        XCTAssertEqual(noScale.weightNames, ["beta", "moving_mean", "moving_variance"])
        XCTAssertEqual(noScale.trainableWeightCount, 1)
        XCTAssertEqual(layer.macs(inputShapes: [[5, 7, 3]], outputShape: [5, 7, 3]), 105)
        XCTAssertEqual(layer.momentum, 0.99, "Keras's default momentum")
        XCTAssertEqual(layer.epsilon, 1e-3)
    }

    func testBatchNormalization_weightOrderWithoutScaleOrCenterFollowsKeras() throws {
        // KERAS-FORMAT 3.4.
        XCTAssertEqual(
            try make(BatchNormalization.self, ["center": false]).weightNames,
            ["gamma", "moving_mean", "moving_variance"])
        XCTAssertEqual(
            try make(BatchNormalization.self, ["scale": false]).weightNames, ["beta", "moving_mean", "moving_variance"])
        XCTAssertEqual(
            try make(BatchNormalization.self, ["center": false, "scale": false]).weightNames,
            ["moving_mean", "moving_variance"])
        XCTAssertEqual(try make(BatchNormalization.self, ["center": false, "scale": false]).trainableWeightCount, 0)
        XCTAssertEqual(
            try make(BatchNormalization.self, ["axis": [3], "center": false]).weightShapes(for: [[5, 7, 3]]),
            [[3], [3], [3]])
    }

    func testBatchNormalizationPruned_slicesEveryWeightWithoutScaleOrCenter() throws {
        for (center, scale) in [(true, true), (false, true), (true, false), (false, false)] {
            let layer = try bn(channels: 4, center: center, scale: scale, seed: 20)
            let pruned = try XCTUnwrap(
                try layer.pruned(keptInputs: [[1, 3]], keptOutputs: [1, 3], inputShapes: [[2, 2, 4]])
                    as? BatchNormalization)
            XCTAssertEqual(
                pruned.weights, layer.weights.map { $0.selecting([1, 3], alongAxis: 0) },
                "center \(center) scale \(scale)")
            XCTAssertEqual(pruned.weightNames, layer.weightNames)
            XCTAssertEqual(pruned.config, layer.config)
            let x = batch(2, [2, 2, 4], seed: 21)
            assertClose(
                try evaluate(pruned, x.selecting([1, 3], alongAxis: 3)),
                try evaluate(layer, x).selecting([1, 3], alongAxis: 3),
                tolerance: 1e-6)
        }
    }

    func testBatchNormalization_configRoundTrip() throws {
        for (center, scale) in [(true, true), (false, true), (true, false), (false, false)] {
            assertConfigRoundTrip(
                try bn(channels: 3, center: center, scale: scale, momentum: 0.8, epsilon: 1e-5, seed: 1))
        }
        let listAxis = try make(BatchNormalization.self, ["axis": [3]])
        assertConfigRoundTrip(listAxis)
        XCTAssertEqual(try listAxis.outputShape(for: [[5, 7, 3]]), [5, 7, 3])
    }

    func testBatchNormalization_rejectsBadConfigAndInputs() throws {
        assertThrows(
            try make(BatchNormalization.self, ["axis": 0]),
            "BatchNormalization over axis 0 is not supported; only the channel axis (-1)")
        assertThrows(
            try make(BatchNormalization.self, ["axis": [1, 2]]),
            "BatchNormalization over several axes [1, 2] is not supported; only the channel axis")
        assertThrows(
            try make(BatchNormalization.self, ["axis": 1]).outputShape(for: [[5, 7, 3]]),
            "axis 1 is not the channel axis of an input of rank 4")
        assertThrows(
            try make(BatchNormalization.self, ["epsilon": 0]), "attribute 'epsilon' is 0, expected a positive number")
        assertThrows(
            try make(BatchNormalization.self, ["momentum": 1.5]),
            "attribute 'momentum' is 1.5, expected a number in [0, 1]")
        assertThrows(try make(BatchNormalization.self).outputShape(for: [[3], [3]]), "expects 1 input(s), got 2")
        let layer = try bn(channels: 2, seed: 1)
        let x = batch(2, [2], seed: 2)
        let inference = try layer.forward([x], context: .inference)
        assertThrows(
            try layer.backward(x, inputs: [x], output: inference, context: .inference),
            "backward was called without a training-mode forward pass")
    }
}
