import Layers
import SurgeonCore
import SurgeonStrategies
import SurgeonTestSupport
import XCTest

/// Each criterion on a model small enough to check its scores by hand.
final class CriteriaTests: XCTestCase {
    /// input [2, 2, 2] -> conv (1x1, 3 filters, kernel given) -> bn (gamma given) -> relu -> gap -> dense (2)
    private func tiny(kernel: [Float] = [1, 0, 2, 0, 1, -3], gamma: [Float] = [0.5, -0.01, 2]) throws -> Graph {
        var conv = Conv2D(filters: 3, kernelSize: [1, 1], useBias: false)
        conv.weights = [Tensor.literal([1, 1, 2, 3], kernel)]
        var bn = BatchNormalization(epsilon: 1e-3)
        bn.weights = [
            Tensor.literal([3], gamma), Tensor(shape: [3]), Tensor(shape: [3]), Tensor(shape: [3], repeating: 1),
        ]
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [2, 2, 2]), name: "input")
        let c = b.add(conv, name: "conv", inputs: [x])
        let n = b.add(bn, name: "bn", inputs: [c])
        let r = b.add(ReLU(), name: "relu", inputs: [n])
        let g = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [r])
        let d = b.add(Dense(units: 2), name: "dense", inputs: [g])
        return try b.build(outputs: [d], seed: 1)
    }

    private func context(_ graph: Graph, data: LabeledData? = nil) throws -> ScoringContext {
        ScoringContext(
            graph: graph, analysis: try Surgeon.standard.analyze(graph), surgeon: .standard, data: data, batchSize: 2)
    }

    /// The conv group's scores from `criterion`, member by member.
    private func convGroup(
        _ criterion: any ImportanceCriterion, _ graph: Graph, data: LabeledData? = nil
    ) throws -> [MemberScores] {
        let ctx = try context(graph, data: data)
        return try criterion.scores(ctx)[ctx.analysis.outputChannels[graph.index(of: "conv")!][0].group]
    }

    func testBNGamma_isTheAbsoluteGamma() throws {
        let scores = try convGroup(BNGammaCriterion(), tiny())
        XCTAssertEqual(scores, [MemberScores(layer: "bn", scores: [0.5, 0.01, 2])])
    }

    func testFilterNorms_areTheKernelColumnNorms() throws {
        // kernel [1, 1, in 2, out 3] = [[1, 0, 2], [0, 1, -3]]: filters (1, 0), (0, 1), (2, -3).
        let l1 = try convGroup(FilterNormCriterion(order: 1), tiny())
        XCTAssertEqual(l1, [MemberScores(layer: "conv", scores: [1, 1, 5])])
        let l2 = try convGroup(FilterNormCriterion(order: 2), tiny())
        XCTAssertEqual(l2.first?.layer, "conv")
        XCTAssertEqual(l2.first?.scores ?? [], [1, 1, Float(13).squareRoot()], accuracy: 1e-6)
    }

    func testAPoZ_isOneMinusTheShareOfZerosAfterTheReLU() throws {
        // Identity conv, BN with moving mean 0, variance 1 - 1e-3 and gamma 1 passes x through:
        // the ReLU sees the input. Channel 0: 6 of 8 positions negative; channel 1: 2 of 8.
        var graph = try tiny(kernel: [1, 0, 0, 0, 1, 0], gamma: [1, 1, 1])
        let bn = graph.index(of: "bn")!
        try graph.setWeights(
            [
                Tensor(shape: [3], repeating: 1), Tensor(shape: [3]), Tensor(shape: [3]),
                Tensor(shape: [3], repeating: 1 - 1e-3),
            ], ofNode: bn)
        let images = Tensor.literal([2, 2, 2, 2], [-1, 1, -1, 1, -1, -1, 1, 1, -1, 1, -1, 1, -1, 1, 1, -1])
        let data = try LabeledData(images: images, labels: [0, 1])
        let scores = try convGroup(APoZCriterion(), graph, data: data)
        XCTAssertEqual(scores.map(\.layer), ["relu"])
        // channel 0 zeros: sample 0 -> 3 of 4, sample 1 -> 3 of 4; channel 1: 1 of 4 and 1 of 4; channel 2 always 0.
        XCTAssertEqual(scores.first?.scores ?? [], [0.25, 0.75, 0], accuracy: 1e-6)
        XCTAssertThrowsError(try convGroup(APoZCriterion(), graph)) { error in
            XCTAssertEqual(
                "\(error)",
                "the 'apoz' criterion measures activations: give --data and --labels (validation images and labels)")
        }
    }

    func testTaylor_isTheMeanAbsoluteActivationTimesGradient() throws {
        // input [1, 1, 2] -> conv (1x1, identity, 2 filters) -> flatten -> dense (2, logits, kernel K).
        var conv = Conv2D(filters: 2, kernelSize: [1, 1], useBias: false)
        conv.weights = [Tensor.literal([1, 1, 2, 2], [1, 0, 0, 1])]
        var dense = Dense(units: 2, useBias: false)
        let k: [Float] = [0.5, -1, 2, 0.25]
        dense.weights = [Tensor.literal([2, 2], k)]
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [1, 1, 2]), name: "input")
        let c = b.add(conv, name: "conv", inputs: [x])
        let f = b.add(Flatten(), name: "flat", inputs: [c])
        let d = b.add(dense, name: "dense", inputs: [f])
        let graph = try b.build(outputs: [d])
        let xs: [[Float]] = [[1, 2], [-0.5, 1]]
        let labels = [0, 1]
        let data = try LabeledData(images: Tensor.literal([2, 1, 1, 2], xs.flatMap { $0 }), labels: labels)
        // By hand: logits z = x K; p = softmax(z); dL/dz = (p - onehot) / 2; dL/da = dL/dz K^T.
        var expected: [Double] = [0, 0]
        for (s, a) in xs.enumerated() {
            let z = [a[0] * k[0] + a[1] * k[2], a[0] * k[1] + a[1] * k[3]].map(Double.init)
            let e = z.map { exp($0 - z.max()!) }
            let p = e.map { $0 / e.reduce(0, +) }
            let dz = [p[0] - (labels[s] == 0 ? 1 : 0), p[1] - (labels[s] == 1 ? 1 : 0)].map { $0 / 2 }
            let da = [dz[0] * Double(k[0]) + dz[1] * Double(k[1]), dz[0] * Double(k[2]) + dz[1] * Double(k[3])]
            for j in 0..<2 { expected[j] += abs(Double(a[j]) * da[j]) / 2 }
        }
        let scores = try convGroup(TaylorCriterion(), graph, data: data)
        XCTAssertEqual(scores.map(\.layer), ["conv"])
        XCTAssertEqual(scores.first?.scores ?? [], expected.map { Float($0) }, accuracy: 1e-6)
    }

    func testRandom_isSeededAndInTheUnitInterval() throws {
        let graph = try tiny()
        let a = try RandomCriterion().scores(context(graph)), b = try RandomCriterion().scores(context(graph))
        XCTAssertEqual(a, b)
        XCTAssertTrue(a.flatMap { $0.flatMap(\.scores) }.allSatisfy { $0 >= 0 && $0 < 1 })
    }
}

func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "counts", file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, "\(a) vs \(b)", file: file, line: line) }
}
