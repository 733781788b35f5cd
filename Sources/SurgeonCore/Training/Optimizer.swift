#if canImport(Glibc)
    import Glibc
#endif

/// The update rule for trainable weights.
public enum OptimizerKind: String, Sendable, Codable, CaseIterable {
    /// Stochastic gradient descent with momentum (and Nesterov's variant), PyTorch's
    /// formulation: v = mu * v + g; w -= lr * (nesterov ? g + mu * v : v).
    case sgd
    /// Adam (Kingma & Ba, ICLR 2015) with decoupled weight decay (AdamW, Loshchilov & Hutter,
    /// ICLR 2019).
    case adam
}

/// Optimizer hyper-parameters.
public struct OptimizerSettings: Sendable, Codable, Equatable {
    public var kind: OptimizerKind
    public var momentum: Float
    public var nesterov: Bool
    /// For SGD an L2 term added to the gradient; for Adam decoupled decay. Applied to kernels
    /// (weights of rank >= 2) only, never to biases or BatchNorm's gamma and beta, so that it
    /// does not fight a sparsity penalty on gamma.
    public var weightDecay: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float

    public init(
        kind: OptimizerKind = .sgd, momentum: Float = 0.9, nesterov: Bool = true, weightDecay: Float = 5e-4,
        beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7
    ) {
        self.kind = kind
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }
}

/// Optimizer state: one slot (or two, for Adam) per trainable weight of each node, and the step.
public struct OptimizerState: Sendable, Equatable {
    public var step: Int = 0
    /// First moments (SGD velocity or Adam's m), indexed [node][weight].
    public var first: [[Tensor]] = []
    /// Second moments (Adam's v).
    public var second: [[Tensor]] = []

    public init() {}
}

/// Applies one optimizer step to a graph's trainable weights.
public struct Optimizer: Sendable {
    public var settings: OptimizerSettings
    public var state = OptimizerState()

    public init(settings: OptimizerSettings) { self.settings = settings }

    /// Updates every trainable weight of `graph` with its gradient at learning rate `lr`.
    public mutating func step(_ graph: inout Graph, gradients: [[Tensor]], learningRate lr: Float) throws(GraphError) {
        if state.first.count != graph.nodes.count { resetState(for: graph) }
        state.step += 1
        let t = Float(state.step)
        let s = settings
        for i in graph.nodes.indices where !gradients[i].isEmpty {
            var weights = graph.takeWeights(ofNode: i)
            for k in gradients[i].indices {
                let decay = weights[k].rank >= 2 ? s.weightDecay : 0
                let g = gradients[i][k]
                // Taken out of their containers, so that updating them in place copies nothing.
                var w = Tensor(shape: [0]), m = Tensor(shape: [0])
                swap(&w, &weights[k])
                swap(&m, &state.first[i][k])
                guard w.count > 0, g.count == w.count, m.count == w.count else {
                    state.first[i][k] = m
                    weights[k] = w
                    continue
                }
                switch s.kind {
                case .sgd:
                    w.scalars.withUnsafeMutableBufferPointer { wb in
                        m.scalars.withUnsafeMutableBufferPointer { vb in
                            g.scalars.withUnsafeBufferPointer { gb in
                                let wp = UncheckedSendable(wb.baseAddress!), vp = UncheckedSendable(vb.baseAddress!)
                                let gp = UncheckedSendable(gb.baseAddress!)
                                Compute.parallelChunks(wb.count, minimumChunk: 1 << 16) { range in
                                    let wp = wp.value, vp = vp.value, gp = gp.value
                                    for j in range {
                                        let grad = gp[j] + decay * wp[j]
                                        vp[j] = s.momentum * vp[j] + grad
                                        wp[j] -= lr * (s.nesterov ? grad + s.momentum * vp[j] : vp[j])
                                    }
                                }
                            }
                        }
                    }
                case .adam:
                    var v = Tensor(shape: [0])
                    swap(&v, &state.second[i][k])
                    let c1 = 1 - pow(s.beta1, t), c2 = 1 - pow(s.beta2, t)
                    let stepSize = lr * c2.squareRoot() / c1
                    w.scalars.withUnsafeMutableBufferPointer { wb in
                        m.scalars.withUnsafeMutableBufferPointer { mb in
                            v.scalars.withUnsafeMutableBufferPointer { vb in
                                g.scalars.withUnsafeBufferPointer { gb in
                                    let wp = UncheckedSendable(wb.baseAddress!), mp = UncheckedSendable(mb.baseAddress!)
                                    let vp = UncheckedSendable(vb.baseAddress!), gp = UncheckedSendable(gb.baseAddress!)
                                    Compute.parallelChunks(wb.count, minimumChunk: 1 << 16) { range in
                                        let wp = wp.value, mp = mp.value, vp = vp.value, gp = gp.value
                                        for j in range {
                                            mp[j] = s.beta1 * mp[j] + (1 - s.beta1) * gp[j]
                                            vp[j] = s.beta2 * vp[j] + (1 - s.beta2) * gp[j] * gp[j]
                                            wp[j] -=
                                                stepSize * mp[j] / (vp[j].squareRoot() + s.epsilon) + lr * decay * wp[j]
                                        }
                                    }
                                }
                            }
                        }
                    }
                    state.second[i][k] = v
                }
                state.first[i][k] = m
                weights[k] = w
            }
            try graph.setWeights(weights, ofNode: i)
        }
    }

    /// Zeroed slots shaped like each node's trainable weights.
    public mutating func resetState(for graph: Graph) {
        let slots = graph.nodes.map { node in
            node.layer.weights.prefix(node.layer.trainableWeightCount).map { Tensor(shape: $0.shape) }
        }
        state.first = slots
        state.second = settings.kind == .adam ? slots : slots.map { _ in [] }
        state.step = 0
    }
}
