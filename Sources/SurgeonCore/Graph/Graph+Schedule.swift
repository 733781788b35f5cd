/// What an inference pass frees as it goes, worked out once when the graph is built: a
/// batch-1 prediction of a hundred small layers must not spend its time recounting readers.
struct InferenceSchedule: Sendable {
    /// For each node, the nodes whose values are no longer needed once it has run (it was
    /// their last reader and they are not outputs).
    let releases: [[Int]]
    /// For each node, the floats per sample alive once its output exists (before the
    /// releases), saturating at `Int.max`.
    let livePerSample: [Int]
    /// For each node, the floats of its output per sample, saturating at `Int.max`.
    let outputPerSample: [Int]
    /// The most floats per sample alive at any node (the largest of `livePerSample`).
    let peakLivePerSample: Int

    init(inputIndices: [[Int]], shapes: [Shape], outputs: [Int]) {
        var remaining = [Int](repeating: 0, count: inputIndices.count)
        for inputs in inputIndices {
            for j in Set(inputs) { remaining[j] += 1 }
        }
        for o in outputs { remaining[o] += 1 }
        let perSample = shapes.map { shape in
            shape.reduce(1) { count, extent in
                let (product, overflow) = count.multipliedReportingOverflow(by: max(extent, 0))
                return overflow ? Int.max : product
            }
        }
        func add(_ a: Int, _ b: Int) -> Int { a.addingReportingOverflow(b).overflow ? Int.max : a + b }
        var releases: [[Int]] = []
        var livePerSample: [Int] = []
        var live = 0
        for (i, inputs) in inputIndices.enumerated() {
            live = add(live, perSample[i])
            livePerSample.append(live)
            var freed: [Int] = []
            for j in Set(inputs).sorted() {
                remaining[j] -= 1
                if remaining[j] == 0 {
                    freed.append(j)
                    if live != Int.max { live -= perSample[j] }
                }
            }
            releases.append(freed)
        }
        self.releases = releases
        self.livePerSample = livePerSample
        peakLivePerSample = livePerSample.max() ?? 0
        outputPerSample = perSample
    }
}
