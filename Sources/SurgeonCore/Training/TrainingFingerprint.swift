/// What a training run started from: the model, the training data and the thread count. A
/// checkpoint stores it, and resuming refuses a checkpoint whose run started from anything else
/// (another model, other data, another `--threads`, which would break bit-identical results).
struct TrainingFingerprint: Codable, Equatable {
    /// FNV-1a over the nodes' names, types, configurations and weights, in hexadecimal (a JSON
    /// number would lose bits of a 64-bit hash).
    var model: String
    /// FNV-1a over the training images' scalars and the labels, in hexadecimal.
    var data: String
    var samples: Int
    var threads: Int
    /// The distillation teacher's hash with its temperature and weight, when there is one
    /// (absent from checkpoints written before distillation existed: no teacher).
    var teacher: String?

    init(graph: Graph, data: LabeledData, threads: Int, distillation: Distillation? = nil) {
        model = Self.hash(graph)
        teacher = distillation.map { "\(Self.hash($0.teacher)) T=\($0.temperature) weight=\($0.weight)" }
        var d = FNV1a()
        for x in data.images.scalars { d.add(UInt64(x.bitPattern)) }
        for label in data.labels { d.add(UInt64(bitPattern: Int64(label))) }
        self.data = String(d.value, radix: 16)
        samples = data.count
        self.threads = threads
    }

    static func hash(_ graph: Graph) -> String {
        var h = FNV1a()
        for node in graph.nodes {
            h.add(node.name)
            h.add(node.layer.kerasClassName)
            h.add(node.layer.config.values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined())
            for w in node.layer.weights {
                for d in w.shape { h.add(UInt64(bitPattern: Int64(d))) }
                for x in w.scalars { h.add(UInt64(x.bitPattern)) }
            }
        }
        return String(h.value, radix: 16)
    }

    /// What differs from `other`, in words ("the model", "the training data (4000 samples, was 3000)").
    func differences(from saved: TrainingFingerprint) -> [String] {
        var out: [String] = []
        if model != saved.model { out.append("the model (its layers or weights differ from the run's starting model)") }
        if data != saved.data || samples != saved.samples {
            out.append("the training data (\(samples) samples now, \(saved.samples) in the run)")
        }
        if threads != saved.threads { out.append("--threads (\(threads) now, \(saved.threads) in the run)") }
        if teacher != saved.teacher {
            out.append(
                "the distillation teacher (\(teacher ?? "none") now, \(saved.teacher ?? "none") in the run)")
        }
        return out
    }
}

/// 64-bit FNV-1a, folded one 64-bit word (or string byte) at a time: a cheap, stable content hash.
private struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ word: UInt64) {
        value = (value ^ word) &* 0x0000_0100_0000_01b3
    }

    mutating func add(_ text: String) {
        for byte in text.utf8 { add(UInt64(byte)) }
        add(0xff)
    }
}
