import SurgeonCore
import SurgeonCoreTestSupport
import XCTest

@testable import SurgeonCore

final class TrainerTests: XCTestCase {
    override func setUp() {
        Compute.setThreads(2)
    }

    func testTraining_learnsASeparableProblem() throws {
        let data = try quadrantData(count: 256, seed: 1)
        let validation = try quadrantData(count: 64, seed: 2)
        let trainer = Trainer(configuration: TrainingConfiguration(epochs: 6, batchSize: 16, learningRate: 0.1))
        let before = try Evaluation.evaluate(smallNet(), on: validation)
        let result = try trainer.fit(smallNet(), train: data, validation: validation)
        XCTAssertEqual(result.history.count, 6)
        let first = try XCTUnwrap(result.history.first), last = try XCTUnwrap(result.history.last)
        XCTAssertLessThan(last.loss, first.loss)
        XCTAssertGreaterThan(try XCTUnwrap(last.validationAccuracy), 0.95)
        XCTAssertLessThan(before.accuracy, 0.6)
        XCTAssertNoThrow(try result.last.checkInvariants())
    }

    func testSameSeedAndThreads_giveBitIdenticalWeights() throws {
        let data = try quadrantData(count: 96, seed: 3)
        let config = TrainingConfiguration(epochs: 2, batchSize: 16, seed: 42)
        let a = try Trainer(configuration: config).fit(smallNet(), train: data).last
        let b = try Trainer(configuration: config).fit(smallNet(), train: data).last
        for (x, y) in zip(a.nodes, b.nodes) {
            XCTAssertEqual(x.layer.weights, y.layer.weights, x.name)
        }
        var other = config
        other.seed = 43
        let c = try Trainer(configuration: other).fit(smallNet(), train: data).last
        XCTAssertNotEqual(a.nodes[1].layer.weights, c.nodes[1].layer.weights)
    }

    func testRegularizerHook_addsPenaltyAndGradient() throws {
        let data = try quadrantData(count: 64, seed: 7)
        let config = TrainingConfiguration(epochs: 2, batchSize: 16, optimizer: OptimizerSettings(weightDecay: 0))
        let plain = try Trainer(configuration: config).fit(smallNet(), train: data)
        let shrunk = try Trainer(configuration: config, regularizers: [SquaredKernels(strength: 0.05)])
            .fit(smallNet(), train: data)
        func norm(_ g: Graph) throws -> Double {
            try node("conv", in: g).layer.weights[0].scalars.reduce(0) { $0 + Double($1 * $1) }
        }
        XCTAssertLessThan(try norm(shrunk.last), try norm(plain.last) * 0.9)
        XCTAssertGreaterThan(shrunk.history[0].penalty, 0)
        XCTAssertEqual(plain.history[0].penalty, 0)
        XCTAssertEqual(shrunk.history[0].regularizerReport["squared.kernels"], 1)
    }

    func testNonTrainableState_followsTheData() throws {
        var data = try quadrantData(count: 64, seed: 8)
        data.images = data.images.map { $0 * 3 + 2 }
        let result = try Trainer(configuration: TrainingConfiguration(epochs: 3, batchSize: 16))
            .fit(smallNet(), train: data)
        let bn = try node("bn", in: result.last).layer.weights
        XCTAssertEqual(bn.count, 3)
        XCTAssertNotEqual(bn[2], Tensor(shape: [6]))
    }

    func testTrainingStep_appliesTheReportedStateAndLeavesItToTheLayer() throws {
        let batch = try quadrantData(count: 16, seed: 8)
        var graph = try smallNet()
        let bn = try index(of: "bn", in: graph)
        // What the affine layer reports: 0.9 * 0 + 0.1 * the batch mean of its input.
        let input = try node("conv", in: graph).layer.forward([batch.images], context: .inference).value
        let expected = input.channelSums().map { 0.1 * $0 / Float(16 * 16) }
        var optimizer = Optimizer(settings: OptimizerSettings())
        _ = try Trainer.step(
            &graph, optimizer: &optimizer, batch: batch, loss: SoftmaxCrossEntropy(fromLogits: false),
            learningRate: 0.1, context: ForwardContext(training: true, seed: 1))
        let weights = graph.nodes[bn].layer.weights
        assertClose(weights[2], expected, tolerance: 1e-6, "moving mean after one step")
        XCTAssertNotEqual(weights[0], Tensor(shape: [6], repeating: 1), "gamma is trained")
        XCTAssertEqual(optimizer.state.first[bn].count, 2, "the optimizer keeps slots for the trainable weights only")
    }

    func testProbabilitiesHead_getsNoSecondSoftmaxInTheLoss() throws {
        XCTAssertTrue(try smallNet().producesProbabilities)
        let data = try quadrantData(count: 32, seed: 9)
        let evaluation = try Evaluation.evaluate(smallNet(), on: data)
        // The loss of the probabilities head equals that of its logits with softmax applied by the loss.
        var b = GraphBuilder()
        var x = b.add(Source(shape: [4, 4, 1]), name: "input")
        for (name, layer) in try smallNet().nodes.dropFirst().dropLast().map({ ($0.name, $0.layer) }) {
            x = b.add(layer, name: name, inputs: [x])
        }
        let logits = try b.build(outputs: [x])
        XCTAssertFalse(logits.producesProbabilities)
        XCTAssertEqual(try Evaluation.evaluate(logits, on: data).loss, evaluation.loss, accuracy: 1e-5)
    }

    func testInvalidSettings_areRejectedBeforeTraining() throws {
        let data = try quadrantData(count: 8, seed: 1)
        let cases: [(TrainingConfiguration, String)] = [
            (TrainingConfiguration(epochs: 0), "epochs: 0 is out of range (expected an integer in 1...100000)"),
            (TrainingConfiguration(batchSize: 0), "batch size: 0 is out of range (expected an integer in 1...65536)"),
            (TrainingConfiguration(learningRate: -1), "the learning rate: -1 is out of range (expected a finite number in 1e-12...1000)"),
            (
                TrainingConfiguration(epochs: 2, warmupEpochs: 3),
                "warm-up epochs: 3 is out of range (expected a finite number in 0...2)"
            ),
        ]
        for (config, message) in cases {
            assertThrows(try Trainer(configuration: config).fit(smallNet(), train: data), message)
        }
    }

    func testLabelsBeyondTheClassifier_areRejected() throws {
        let data = try LabeledData(images: Tensor(shape: [4, 4, 4, 1]), labels: [0, 1, 2, 7])
        assertThrows(
            try Trainer().fit(smallNet(), train: data), "the labels: label 3 is 7, out of range for a model with 4 classes (expected an integer in 0...3)")
    }

    func testBatchSizes_foldASingleTrailingSample() {
        XCTAssertEqual(Trainer.batchSizes(samples: 10, batchSize: 4), [4, 4, 2])
        XCTAssertEqual(Trainer.batchSizes(samples: 9, batchSize: 4), [4, 5])
        XCTAssertEqual(Trainer.batchSizes(samples: 8, batchSize: 4), [4, 4])
        XCTAssertEqual(Trainer.batchSizes(samples: 3, batchSize: 64), [3])
    }
}
