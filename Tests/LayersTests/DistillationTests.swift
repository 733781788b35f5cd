import Layers
import SurgeonCore
import SurgeonTestSupport
import XCTest

final class DistillationTests: XCTestCase {
    /// input [4] -> Dense(3) (logits), or -> Dense(3, softmax) (probabilities).
    static func classifier(softmax: Bool, seed: UInt64) throws -> Graph {
        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [4]), name: "input")
        let head = b.add(Dense(units: 3, activation: softmax ? .softmax : .linear), name: "head", inputs: [x])
        return try b.build(outputs: [head], seed: seed)
    }

    /// The mixed loss's gradient equals central finite differences, for a student that gives
    /// logits and one that ends in a softmax, at several temperatures and weights.
    func testGradient_matchesFiniteDifferences() throws {
        for (softmax, t, w) in [(false, 4.0, 0.5), (false, 1.0, 0.9), (true, 2.0, 0.3), (true, 8.0, 1.0)] {
            let d = try Distillation(
                teacher: try Self.classifier(softmax: softmax, seed: 1), temperature: t, weight: w)
            let labels = [0, 2, 1]
            let teacherOutput: Tensor
            var output: Tensor
            if softmax {
                teacherOutput = Self.rowsSoftmax(Tensor.random(shape: [3, 3], seed: 2, range: -2...2))
                output = Self.rowsSoftmax(Tensor.random(shape: [3, 3], seed: 3, range: -2...2))
            } else {
                teacherOutput = Tensor.random(shape: [3, 3], seed: 2, range: -3...3)
                output = Tensor.random(shape: [3, 3], seed: 3, range: -3...3)
            }
            let loss = SoftmaxCrossEntropy(fromLogits: !softmax)
            func value(_ y: Tensor) -> Double {
                d.mixing(
                    loss.evaluate(output: y, labels: labels), output: y, studentGivesProbabilities: softmax,
                    teacherOutput: teacherOutput
                ).loss
            }
            let analytic = d.mixing(
                loss.evaluate(output: output, labels: labels), output: output, studentGivesProbabilities: softmax,
                teacherOutput: teacherOutput
            ).gradient
            for i in 0..<output.count {
                let h: Float = 1e-3
                let x = output.scalars[i]
                output.scalars[i] = x + h
                let up = value(output)
                output.scalars[i] = x - h
                let down = value(output)
                output.scalars[i] = x
                let numeric = (up - down) / (2 * Double(h))
                XCTAssertEqual(
                    Double(analytic.scalars[i]), numeric, accuracy: 2e-3 * max(1, abs(numeric)),
                    "softmax \(softmax), T \(t), weight \(w), entry \(i)")
            }
        }
    }

    /// Weight 0 is plain cross-entropy; a student equal to its teacher has no soft loss.
    func testEdgeCases_weightZeroAndEqualModels() throws {
        let graph = try Self.classifier(softmax: false, seed: 4)
        let y = Tensor.random(shape: [5, 3], seed: 5, range: -2...2)
        let labels = [0, 1, 2, 0, 1]
        let hard = SoftmaxCrossEntropy(fromLogits: true).evaluate(output: y, labels: labels)
        let none = try Distillation(teacher: graph, weight: 0).mixing(
            hard, output: y, studentGivesProbabilities: false, teacherOutput: Tensor.random(shape: [5, 3], seed: 6))
        XCTAssertEqual(none.loss, hard.loss, accuracy: 1e-12)
        XCTAssertEqual(none.gradient.scalars, hard.gradient.scalars)
        let same = try Distillation(teacher: graph, weight: 0.5).mixing(
            hard, output: y, studentGivesProbabilities: false, teacherOutput: y)
        XCTAssertEqual(same.loss, 0.5 * hard.loss, accuracy: 1e-9)
        for (a, b) in zip(same.gradient.scalars, hard.gradient.scalars) { XCTAssertEqual(a, 0.5 * b, accuracy: 1e-7) }
        XCTAssertEqual(same.correct, hard.correct)
    }

    /// Training with a teacher brings the student's outputs towards the teacher's; a teacher
    /// with other classes, or out-of-range settings, are refused with what is accepted.
    func testTrainer_learnsFromTheTeacher_andRefusesAMismatchedOne() throws {
        let teacher = try Self.classifier(softmax: false, seed: 7)
        let student = try Self.classifier(softmax: false, seed: 8)
        let images = Tensor.random(shape: [64, 4], seed: 9, range: -1...1)
        let data = try LabeledData(images: images, labels: (0..<64).map { $0 % 3 })
        let d = try Distillation(teacher: teacher, temperature: 2, weight: 1)
        var config = TrainingConfiguration()
        config.epochs = 20
        config.learningRate = 0.1
        let trained = try Trainer(configuration: config, distillation: d).fit(student, train: data).last
        // Softmax ignores a shift of all logits, so compare the distributions, not the logits.
        func gap(_ g: Graph) throws -> Float {
            let a = Self.rowsSoftmax(try g.predict([images])[0]), b = Self.rowsSoftmax(try teacher.predict([images])[0])
            return zip(a.scalars, b.scalars).map { abs($0 - $1) }.reduce(0, +)
        }
        XCTAssertLessThan(try gap(trained), 0.5 * (try gap(student)))

        var b = GraphBuilder()
        let x = b.add(InputLayer(shape: [4]), name: "input")
        let four = b.add(Dense(units: 4), name: "head", inputs: [x])
        let other = try b.build(outputs: [four], seed: 1)
        XCTAssertThrowsError(try Distillation(teacher: other).checkCompatible(with: student)) {
            XCTAssertTrue("\($0)".contains("same classes"), "\($0)")
        }
        XCTAssertThrowsError(try Distillation(teacher: teacher, temperature: 0)) {
            XCTAssertTrue("\($0)".contains("accepted: 0.05...100"), "\($0)")
        }
        XCTAssertThrowsError(try Distillation(teacher: teacher, weight: 1.5))
    }

    static func rowsSoftmax(_ z: Tensor) -> Tensor {
        var p = z
        let k = z.shape[1]
        for i in 0..<z.shape[0] {
            let row = (0..<k).map { Double(z.scalars[i * k + $0]) }
            let m = row.max() ?? 0
            let e = row.map { exp($0 - m) }
            let s = e.reduce(0, +)
            for j in 0..<k { p.scalars[i * k + j] = Float(e[j] / s) }
        }
        return p
    }
}
