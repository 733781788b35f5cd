/// Keras's order of `model.layers` for a Functional model, recomputed from the config as Keras
/// does when it loads one (KERAS-FORMAT 3.3). It decides the `layers/<class>_<n>` names of the
/// weight groups in a `.keras` file, so it must match Keras exactly, not the config's order.
///
/// Depth-first from the outputs gives each layer a traversal index (pre-order) and each node a
/// finishing order; a node's depth is its longest distance to an output. Layers are sorted by
/// depth, descending, ties by traversal index.
enum KerasLayerOrder {
    /// `layers` are the entries (each called once: node 0), `outputs` the model's output layers
    /// in Keras's order, `inputs` its input layers. Returns the entry names in Keras's order.
    static func order(layers: [KerasLayerEntry], inputs: [String], outputs: [String]) -> [String] {
        var byName: [String: KerasLayerEntry] = [:]
        for layer in layers { byName[layer.name] = layer }
        var traversal: [String: Int] = [:]
        var finished: [String] = []
        var done: Set<String> = []

        // Iterative DFS (deep models would overflow a recursive one).
        for output in outputs {
            var stack: [(name: String, next: Int)] = [(output, -1)]
            while var top = stack.popLast() {
                if top.next == -1 {
                    if done.contains(top.name) { continue }
                    if traversal[top.name] == nil { traversal[top.name] = traversal.count }
                    top.next = 0
                }
                let parents = byName[top.name]?.calls.first?.inputs.map(\.layer) ?? []
                if top.next < parents.count {
                    let parent = parents[top.next]
                    top.next += 1
                    stack.append(top)
                    if !done.contains(parent) { stack.append((parent, -1)) }
                } else if !done.contains(top.name) {
                    done.insert(top.name)
                    finished.append(top.name)
                }
            }
        }

        var depth: [String: Int] = [:]
        for name in finished.reversed() {
            let d = depth[name] ?? 0
            depth[name] = d
            for parent in byName[name]?.calls.first?.inputs.map(\.layer) ?? [] {
                depth[parent] = max(depth[parent] ?? 0, d + 1)
            }
        }
        for input in inputs where depth[input] == nil {
            depth[input] = 0
            traversal[input] = -1
        }
        // Unused inputs share traversal index -1; they keep the order in which Keras lists them.
        var position: [String: Int] = [:]
        for (k, name) in (inputs + layers.map(\.name)).enumerated() where position[name] == nil { position[name] = k }
        let reached = depth.keys.filter { byName[$0] != nil }
        return reached.sorted { a, b in
            let da = depth[a] ?? 0, db = depth[b] ?? 0
            if da != db { return da > db }
            let ta = traversal[a] ?? -1, tb = traversal[b] ?? -1
            if ta != tb { return ta < tb }
            return (position[a] ?? 0) < (position[b] ?? 0)
        }
    }
}
