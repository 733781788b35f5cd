import SurgeonCore
import SurgeonCoreTestSupport

/// A tiny separable problem: the class is which quadrant of a 4x4 image is bright.
func quadrantData(count: Int, seed: UInt64) throws -> LabeledData {
    try quadrantImages(count: count, side: 4, seed: seed, noise: 0.3)
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
