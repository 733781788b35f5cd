import SurgeonCore

/// A tiny separable problem: the class is which quadrant of a 4x4 image is bright.
func quadrantData(count: Int, seed: UInt64) throws -> LabeledData {
    var random = SeededRandom(seed: seed)
    var images = Tensor(shape: [count, 4, 4, 1])
    var labels: [Int] = []
    for n in 0..<count {
        let label = Int(random.next() % 4)
        labels.append(label)
        for y in 0..<4 {
            for x in 0..<4 {
                let quadrant = (y / 2) * 2 + x / 2
                images.scalars[n * 16 + y * 4 + x] = (quadrant == label ? 1 : 0) + 0.3 * random.nextFloat(in: -1, 1)
            }
        }
    }
    return try LabeledData(images: images, labels: labels)
}

/// input -> conv (per-pixel projection) -> bn (affine) -> relu -> flat -> logits -> probabilities.
func smallNet(seed: UInt64 = 1) throws -> Graph {
    var b = GraphBuilder()
    var x = b.add(Source(shape: [4, 4, 1]), name: "input")
    x = b.add(Projection(units: 6, useBias: false), name: "conv", inputs: [x])
    x = b.add(ChannelAffine(momentum: 0.9), name: "bn", inputs: [x])
    x = b.add(Rectifier(), name: "relu", inputs: [x])
    x = b.add(Flat(), name: "flat", inputs: [x])
    x = b.add(Projection(units: 4), name: "logits", inputs: [x])
    x = b.add(Probabilities(), name: "out", inputs: [x])
    return try b.build(outputs: [x], seed: seed)
}

/// Adds c * sum(w^2) over kernels: a regulariser to test the hook with.
struct SquaredKernels: Regularizer {
    var name: String { "squared" }
    var strength: Double
    func apply(to graph: Graph, gradients: inout [[Tensor]]) -> Double {
        var penalty = 0.0
        for (i, node) in graph.nodes.enumerated() where !gradients[i].isEmpty {
            let w = node.layer.weights[0]
            guard w.rank >= 2 else { continue }
            for j in 0..<w.count {
                penalty += strength * Double(w.scalars[j] * w.scalars[j])
                gradients[i][0].scalars[j] += Float(2 * strength) * w.scalars[j]
            }
        }
        return penalty
    }
    func report(for graph: Graph) -> [String: Double] { ["kernels": 1] }
}
