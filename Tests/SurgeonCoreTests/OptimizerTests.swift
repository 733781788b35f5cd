import Foundation
import SurgeonCore
import SurgeonCoreTestSupport
import XCTest

final class OptimizerTests: XCTestCase {
    /// A graph with one projection whose kernel is [[1], [2]] and bias [0.5].
    private func denseGraph() throws -> Graph {
        var dense = Projection(units: 1)
        dense.weights = [Tensor.literal([2, 1], [1, 2]), Tensor.literal([1], [0.5])]
        return try Graph(nodes: [Node("in", Source(shape: [2])), Node("d", dense, inputs: ["in"])], outputs: ["d"])
    }

    func testNesterovSGD_twoStepsMatchHandComputation() throws {
        var graph = try denseGraph()
        var opt = Optimizer(settings: OptimizerSettings(kind: .sgd, momentum: 0.9, nesterov: true, weightDecay: 0.1))
        let grads: [[Tensor]] = [[], [Tensor.literal([2, 1], [1, -1]), Tensor.literal([1], [2])]]
        try opt.step(&graph, gradients: grads, learningRate: 0.1)
        // kernel: g' = g + 0.1 w = [1.1, -0.8]; v = g'; w -= 0.1 (g' + 0.9 v) = 0.1 * 1.9 g'
        // bias (rank 1, no decay): v = 2; w = 0.5 - 0.1 * 3.8
        assertClose(graph.nodes[1].layer.weights[0], Tensor.literal([2, 1], [1 - 0.209, 2 + 0.152]), tolerance: 1e-6)
        assertClose(graph.nodes[1].layer.weights[1], Tensor.literal([1], [0.5 - 0.38]), tolerance: 1e-6)
        try opt.step(&graph, gradients: grads, learningRate: 0.1)
        // bias: v = 0.9 * 2 + 2 = 3.8; update = 0.1 * (2 + 0.9 * 3.8) = 0.542
        assertClose(graph.nodes[1].layer.weights[1], Tensor.literal([1], [0.12 - 0.542]), tolerance: 1e-6)
    }

    func testAdam_firstStepMovesEachWeightByTheLearningRate() throws {
        var graph = try denseGraph()
        var opt = Optimizer(settings: OptimizerSettings(kind: .adam, weightDecay: 0))
        try opt.step(
            &graph, gradients: [[], [Tensor.literal([2, 1], [3, -0.01]), Tensor.literal([1], [0])]], learningRate: 0.01)
        // Bias-corrected m / sqrt(v) = sign(g) on the first step.
        assertClose(graph.nodes[1].layer.weights[0], Tensor.literal([2, 1], [0.99, 2.01]), tolerance: 1e-5)
        assertClose(graph.nodes[1].layer.weights[1], Tensor.literal([1], [0.5]), tolerance: 1e-7)
    }

    func testAdamWeightDecay_isDecoupledAndSkipsBiases() throws {
        var graph = try denseGraph()
        var opt = Optimizer(settings: OptimizerSettings(kind: .adam, weightDecay: 0.5))
        try opt.step(&graph, gradients: [[], [Tensor(shape: [2, 1]), Tensor(shape: [1])]], learningRate: 0.1)
        assertClose(graph.nodes[1].layer.weights[0], Tensor.literal([2, 1], [0.95, 1.9]), tolerance: 1e-6)
        assertClose(graph.nodes[1].layer.weights[1], Tensor.literal([1], [0.5]), tolerance: 1e-7)
    }
}

final class LearningRateScheduleTests: XCTestCase {
    func testWarmup_risesLinearlyToTheBaseRate() {
        let s = LearningRateSchedule.constant
        XCTAssertEqual(
            s.rate(base: 0.1, step: 0, totalSteps: 100, warmupSteps: 4, stepsPerEpoch: 10), 0.025, accuracy: 1e-12)
        XCTAssertEqual(
            s.rate(base: 0.1, step: 3, totalSteps: 100, warmupSteps: 4, stepsPerEpoch: 10), 0.1, accuracy: 1e-12)
        XCTAssertEqual(
            s.rate(base: 0.1, step: 50, totalSteps: 100, warmupSteps: 4, stepsPerEpoch: 10), 0.1, accuracy: 1e-12)
    }

    func testCosine_decaysFromBaseToZeroAfterWarmup() {
        let s = LearningRateSchedule.cosine
        XCTAssertEqual(
            s.rate(base: 0.2, step: 10, totalSteps: 110, warmupSteps: 10, stepsPerEpoch: 10), 0.2, accuracy: 1e-12)
        XCTAssertEqual(
            s.rate(base: 0.2, step: 60, totalSteps: 110, warmupSteps: 10, stepsPerEpoch: 10), 0.1, accuracy: 1e-12)
        XCTAssertEqual(
            s.rate(base: 0.2, step: 110, totalSteps: 110, warmupSteps: 10, stepsPerEpoch: 10), 0, accuracy: 1e-12)
    }

    func testStep_multipliesByTheFactorEveryFewEpochs() {
        let s = LearningRateSchedule.step(every: 2, factor: 0.1)
        XCTAssertEqual(
            s.rate(base: 1, step: 19, totalSteps: 100, warmupSteps: 0, stepsPerEpoch: 10), 1, accuracy: 1e-12)
        XCTAssertEqual(
            s.rate(base: 1, step: 20, totalSteps: 100, warmupSteps: 0, stepsPerEpoch: 10), 0.1, accuracy: 1e-12)
        XCTAssertEqual(
            s.rate(base: 1, step: 45, totalSteps: 100, warmupSteps: 0, stepsPerEpoch: 10), 0.01, accuracy: 1e-12)
    }
}

final class SoftmaxCrossEntropyTests: XCTestCase {
    func testLogits_lossGradientAndAccuracyByHand() {
        let logits = Tensor.literal([2, 3], [0, 0, 0, 2, 0, 0])
        let r = SoftmaxCrossEntropy(fromLogits: true).evaluate(output: logits, labels: [1, 0])
        let second = -log(exp(2.0) / (exp(2.0) + 2))
        XCTAssertEqual(r.loss, (log(3.0) + second) / 2, accuracy: 1e-6)
        // Sample 0 is a three-way tie, resolved to the first class (wrong); sample 1 is right.
        XCTAssertEqual(r.correct, 1)
        let third: Float = 1.0 / 3
        assertClose(
            r.gradient.slice(rows: 0..<1), Tensor.literal([1, 3], [third / 2, (third - 1) / 2, third / 2]),
            tolerance: 1e-6)
    }

    func testProbabilitiesAndLogits_giveTheSameLossAndInputGradient() {
        let logits = Tensor.random(shape: [4, 5], seed: 3, range: -2...2)
        let probabilities = Probabilities.softmax(logits)
        let labels = [0, 4, 2, 2]
        let a = SoftmaxCrossEntropy(fromLogits: true).evaluate(output: logits, labels: labels)
        let b = SoftmaxCrossEntropy(fromLogits: false).evaluate(output: probabilities, labels: labels)
        XCTAssertEqual(a.loss, b.loss, accuracy: 1e-5)
        let throughSoftmax = Probabilities.backward(b.gradient, output: probabilities)
        assertClose(throughSoftmax, a.gradient, tolerance: 1e-5)
    }
}
