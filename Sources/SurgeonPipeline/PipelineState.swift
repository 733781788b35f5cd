import Foundation
import SurgeonCore
import SurgeonFormats

/// The progress of a run folder (`state.json`): the recipe's stage names and the stages
/// completed so far, in order.
struct PipelineState: Codable {
    var recipeStages: [String]
    var completed: [StageResult]

    /// The state saved in `url` for `recipe`, or nil when there is none yet. A file that is not a
    /// run's state, or that does not match the recipe (other stages, more completed stages than
    /// the recipe has, an index or a figure out of range), is refused with its path, the key, the
    /// value and what was expected: resuming from it would index past the recipe.
    static func read(_ url: URL, recipe: Recipe) throws(PipelineError) -> PipelineState? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw PipelineError(
                "cannot read \(url.path), the state of the run: \(ReadableError.reading(error)); remove it or use a "
                    + "new folder")
        }
        return try decode(data, source: url.path, recipe: recipe)
    }

    /// The state in `data` (the bytes of `source`), checked against `recipe` as `read` checks it.
    static func decode(_ data: Data, source: String, recipe: Recipe) throws(PipelineError) -> PipelineState {
        let url = URL(fileURLWithPath: source)
        // Whole numbers first, so that a fraction or a huge value is named with its key (the
        // decoder would only say that some number does not fit).
        if let tree = try? JSONDecoder().decode(ConfigValue.self, from: data) {
            try StateCheck(file: url.path).checkWholeNumbers(tree, at: "")
        }
        let saved: PipelineState
        do { saved = try JSONDecoder().decode(PipelineState.self, from: data) } catch {
            throw PipelineError(
                "\(url.path) is not the state of a run: \(ReadableError.decoding(error)); "
                    + "remove the folder or use a new one")
        }
        try StateCheck(file: url.path).check(saved, against: recipe)
        return saved
    }
}

extension PipelineRunner {
    /// Checks the bytes of a run folder's `state.json` against `recipe` exactly as resuming does,
    /// and returns the number of completed stages a resume would skip. The state fuzz target
    /// calls this.
    public static func completedStages(inState data: Data, source: String, recipe: Recipe) throws -> Int {
        try PipelineState.decode(data, source: source, recipe: recipe).completed.count
    }
}

/// Checks every figure of a saved `PipelineState` through `OutsideNumber`, naming the key at fault.
private struct StateCheck {
    var file: String

    func check(_ state: PipelineState, against recipe: Recipe) throws(PipelineError) {
        let names = recipe.stages.map(\.name)
        guard state.recipeStages == names else {
            throw PipelineError(
                "\(file): recipeStages is [\(state.recipeStages.joined(separator: ", "))], but the recipe's stages "
                    + "are [\(names.joined(separator: ", "))]; the folder holds a run of another recipe; use a new "
                    + "folder")
        }
        try integer(
            state.completed.count, "the number of completed stages", in: 0...names.count,
            "at most the recipe's \(names.count) stages")
        for (i, result) in state.completed.enumerated() {
            let stage = recipe.stages[i]
            let key = "completed[\(i)]"
            try integer(result.index, "\(key).index", in: i...i, "stage \(i + 1) of the recipe has index \(i)")
            guard result.stage == stage.name, result.label == StageResult.label(of: stage) else {
                throw refusal(
                    "\(key).stage is '\(result.stage)' (label '\(result.label)'), but stage \(i + 1) of the recipe "
                        + "is '\(stage.name)' (label '\(StageResult.label(of: stage))')")
            }
            try check(result, key)
        }
    }

    func check(_ r: StageResult, _ key: String) throws(PipelineError) {
        try number(r.accuracy, "\(key).accuracy", in: 0...1)
        try number(r.loss, "\(key).loss", in: 0...Double.greatestFiniteMagnitude)
        try integer(r.params, "\(key).params", in: 0...Int.max)
        try integer(r.macs, "\(key).macs", in: 0...Int.max)
        try number(r.seconds, "\(key).seconds", in: 0...Double.greatestFiniteMagnitude)
        if let v = r.latencyMsBatch1 { try number(v, "\(key).latencyMsBatch1", in: 0...Double.greatestFiniteMagnitude) }
        if let v = r.latencyMsBatch64 {
            try number(v, "\(key).latencyMsBatch64", in: 0...Double.greatestFiniteMagnitude)
        }
        let epochs = 1...SettingLimits.epochs.upperBound
        try integer(r.history.count, "the length of \(key).history", in: 0...epochs.upperBound, "at most \(epochs)")
        for (e, m) in r.history.enumerated() {
            let at = "\(key).history[\(e)]"
            try integer(m.epoch, "\(at).epoch", in: epochs)
            try number(m.loss, "\(at).loss", in: 0...Double.greatestFiniteMagnitude)
            try number(m.accuracy, "\(at).accuracy", in: 0...1)
            if let v = m.validationLoss {
                try number(v, "\(at).validationLoss", in: 0...Double.greatestFiniteMagnitude)
            }
            if let v = m.validationAccuracy { try number(v, "\(at).validationAccuracy", in: 0...1) }
            try number(m.learningRate, "\(at).learningRate")
            try number(m.penalty, "\(at).penalty")
            for (name, v) in m.regularizerReport { try number(v, "\(at).regularizerReport.\(name)") }
            try number(m.seconds, "\(at).seconds", in: 0...Double.greatestFiniteMagnitude)
        }
        for (g, v) in r.gammas.enumerated() {
            try number(Double(v), "\(key).gammas[\(g)]", in: 0...Double.greatestFiniteMagnitude)
        }
        if let p = r.pruning {
            for (name, v) in [
                ("paramsBefore", p.paramsBefore), ("paramsAfter", p.paramsAfter), ("macsBefore", p.macsBefore),
                ("macsAfter", p.macsAfter),
            ] {
                try integer(v, "\(key).pruning.\(name)", in: 0...Int.max)
            }
            for (l, layer) in p.layers.enumerated() {
                for (name, v) in [
                    ("channelsBefore", layer.channelsBefore), ("channelsAfter", layer.channelsAfter),
                    ("paramsBefore", layer.paramsBefore), ("paramsAfter", layer.paramsAfter),
                ] {
                    try integer(v, "\(key).pruning.layers[\(l)].\(name)", in: 0...Int.max)
                }
            }
        }
        if let b = r.biasCompensation {
            try integer(b.skippedApproximate, "\(key).biasCompensation.skippedApproximate", in: 0...Int.max)
            for (f, fold) in b.folds.enumerated() {
                try integer(fold.channels, "\(key).biasCompensation.folds[\(f)].channels", in: 0...Int.max)
                try integer(
                    fold.constantChannels, "\(key).biasCompensation.folds[\(f)].constantChannels", in: 0...Int.max)
            }
        }
        if let s = r.sensitivity {
            try number(s.baselineAccuracy, "\(key).sensitivity.baselineAccuracy", in: 0...1)
            for (k, v) in s.ratios.enumerated() { try number(v, "\(key).sensitivity.ratios[\(k)]", in: 0...1) }
            for (c, curve) in s.curves.enumerated() {
                try integer(curve.group, "\(key).sensitivity.curves[\(c)].group", in: 0...Int.max)
                try integer(curve.size, "\(key).sensitivity.curves[\(c)].size", in: 0...Int.max)
                for (k, v) in curve.drops.enumerated() {
                    try number(v, "\(key).sensitivity.curves[\(c)].drops[\(k)]", in: -1...1)
                }
            }
        }
    }

    /// The keys whose numbers are counts or indices, wherever they appear in a stage's figures.
    static let wholeNumberKeys: Set<String> = [
        "index", "params", "macs", "epoch", "paramsBefore", "paramsAfter", "macsBefore", "macsAfter",
        "channelsBefore", "channelsAfter", "channels", "constantChannels", "skippedApproximate", "group", "size",
    ]

    /// Every number under a `wholeNumberKeys` key is an integer in `-2^53...2^53` (exact in a
    /// double, so it decodes); its range for the recipe is checked after decoding.
    func checkWholeNumbers(_ value: ConfigValue, at key: String) throws(PipelineError) {
        switch value {
        case let .object(fields):
            for (name, field) in fields.sorted(by: { $0.key < $1.key }) {
                let path = key.isEmpty ? name : "\(key).\(name)"
                if case let .number(d) = field, Self.wholeNumberKeys.contains(name) {
                    do { _ = try OutsideNumber.integer(d, in: -(1 << 53)...(1 << 53)) } catch {
                        throw refusal("\(path): \(error)")
                    }
                } else {
                    try checkWholeNumbers(field, at: path)
                }
            }
        case let .array(items):
            for (i, item) in items.enumerated() { try checkWholeNumbers(item, at: "\(key)[\(i)]") }
        default:
            break
        }
    }

    func integer(_ value: Int, _ key: String, in range: ClosedRange<Int>, _ note: String? = nil) throws(PipelineError) {
        do { _ = try OutsideNumber.integer(value, in: range) } catch {
            throw refusal("\(key): \(error)" + (note.map { "; \($0)" } ?? ""))
        }
    }

    func number(
        _ value: Double, _ key: String,
        in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
    ) throws(PipelineError) {
        do { _ = try OutsideNumber.finite(value, in: range) } catch { throw refusal("\(key): \(error)") }
    }

    func refusal(_ what: String) -> PipelineError {
        PipelineError("\(file) does not match the recipe: \(what); remove the run folder or use a new one")
    }
}
