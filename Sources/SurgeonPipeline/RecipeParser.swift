import SurgeonCore
import SurgeonStrategies
import Yams

/// YAML nodes (SurgeonCore has a graph `Node` too).
typealias YAMLNode = Yams.Node

/// Reads a recipe from YAML, strictly: an unknown key, stage, strategy, policy, regulariser or
/// value is refused before any work starts, naming the file, the line and what is accepted.
///
/// ```yaml
/// model: {architecture: vgg, input_shape: [28, 28, 1], classes: 10, width: 1.0}   # or: model: {file: m.surgeon}
/// data: {images: x.npy, labels: y.npy, train: [0, 4000], validation: [4000, 5000]} # omit for the bundled MNIST
/// seed: 0
/// stages:
///   - train: {epochs: 5}
///   - sparse: {epochs: 5}              # growing-lasso, lambda 0.1: aimed at the next prune stage's cut
///   - prune: {strategy: bn-gamma, target_macs: 0.5, round_to: 8}   # or {strategy: {name: taylor, batches: 8}, ...}
///   - retrain: {epochs: 5, lr: 0.03, warmup_epochs: 1}
///   - eval: {}
///   - export: {path: final.surgeon}   (or final.keras, for Keras 3)
/// ```
public struct RecipeParser {
    public var source: String
    public var strategies: StrategyRegistry
    public var architectures: ArchitectureRegistry

    public init(
        source: String, strategies: StrategyRegistry = .standardWithExec,
        architectures: ArchitectureRegistry = .standard
    ) {
        self.source = source
        self.strategies = strategies
        self.architectures = architectures
    }

    public func parse(_ yaml: String) throws -> Recipe {
        if let (line, reason) = RecipeShapeCheck.problem(in: yaml) {
            var error = RecipeError(source, nil, "not accepted as a recipe: \(reason)")
            error.line = line
            throw error
        }
        let root: YAMLNode
        do {
            guard let node = try Yams.compose(yaml: yaml) else { throw RecipeError(source, nil, "the recipe is empty") }
            root = node
        } catch let error as RecipeError {
            throw error
        } catch {
            throw RecipeError(source, nil, "not valid YAML: \(error)")
        }
        let top = try mapping(root, "the recipe", accepted: ["model", "data", "seed", "stages"])
        guard let modelNode = top["model"] else {
            throw RecipeError(source, root.mark, "the recipe needs a 'model' section")
        }
        guard let stagesNode = top["stages"] else {
            throw RecipeError(source, root.mark, "the recipe needs a 'stages' list")
        }
        var recipe = Recipe(model: try model(modelNode), stages: [])
        if let data = top["data"] {
            let m = try mapping(data, "data", accepted: ["images", "labels", "train", "validation"])
            recipe.images = try m["images"].map { try string($0) }
            recipe.labels = try m["labels"].map { try string($0) }
            if (recipe.images == nil) != (recipe.labels == nil) {
                throw RecipeError(
                    source, data.mark, "give both 'images' and 'labels', or neither (the bundled MNIST data)")
            }
            if let r = m["train"] { recipe.trainRange = try range(r) }
            if let r = m["validation"] { recipe.validationRange = try range(r) }
        }
        if let s = top["seed"] { recipe.seed = UInt64(try int(s, in: 0...Int.max)) }
        guard case let .sequence(list) = stagesNode, !list.isEmpty else {
            throw RecipeError(
                source, stagesNode.mark,
                "'stages' must be a non-empty list of stages (\(Self.stageNames.joined(separator: ", ")))")
        }
        for item in list { recipe.stages.append(try stage(item)) }
        for (k, stage) in recipe.stages.enumerated() {
            guard case let .sparse(training, regularizer, lambda) = stage,
                try strategies.regularizerNeedsCut(regularizer)
            else {
                continue
            }
            let next = recipe.stages[(k + 1)...].lazy.compactMap { s -> Recipe.Pruning? in
                if case let .prune(p) = s { return p } else { return nil }
            }.first
            if let next, next.search == nil { continue }
            let written = writtenKeys(list[k])
            if !written.contains("regularizer") {
                // The default aims at a cut; with none to aim at, the stage falls back to l1-gamma.
                let fallback = Recipe.untargetedRegularizer
                recipe.stages[k] = .sparse(
                    training, regularizer: fallback,
                    lambda: written.contains("lambda") ? lambda : Recipe.defaultLambda(fallback))
                continue
            }
            throw RecipeError(
                source, list[k].mark,
                "the '\(regularizer.name)' regulariser penalises the channels the next prune stage will delete: "
                    + "it needs a prune stage with a fixed budget (target_macs, ratio, ...) after it"
                    + (next == nil ? "" : ", not max_drop"))
        }
        return recipe
    }

    static let stageNames = ["train", "sparse", "prune", "retrain", "eval", "export"]
    static let trainingKeys = [
        "epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "schedule", "warmup_epochs",
    ]

    // MARK: - Sections

    func model(_ node: YAMLNode) throws -> Recipe.ModelSource {
        let m = try mapping(node, "model", accepted: ["architecture", "input_shape", "classes", "width", "file"])
        if let file = m["file"] {
            guard m.count == 1 else { throw RecipeError(source, node.mark, "'model' with 'file' takes no other keys") }
            return .file(try string(file))
        }
        guard let arch = m["architecture"] else {
            throw RecipeError(
                source, node.mark,
                "'model' needs 'architecture' (\(architectures.names.joined(separator: ", "))) or 'file'")
        }
        let name = try choice(arch, architectures.names)
        let shape = try m["input_shape"].map { try ints($0) } ?? [28, 28, 1]
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }) else {
            throw RecipeError(source, m["input_shape"]?.mark, "'input_shape' must be [height, width, channels]")
        }
        return .architecture(
            name: name, inputShape: shape,
            classes: try m["classes"].map { try int($0, in: SettingLimits.classes) } ?? 10,
            width: try m["width"].map { try number($0, above: 0) } ?? 1)
    }

    /// The keys a stage's settings spell out (to tell a default from a choice).
    func writtenKeys(_ node: YAMLNode) -> Set<String> {
        guard case let .mapping(m) = node, let settings = m.first?.value, case let .mapping(keys) = settings else {
            return []
        }
        return Set(keys.keys.compactMap(\.string))
    }

    func stage(_ node: YAMLNode) throws -> Recipe.Stage {
        guard case let .mapping(m) = node, m.count == 1, let (key, value) = m.first, let name = key.string else {
            throw RecipeError(
                source, node.mark,
                "a stage is one of \(Self.stageNames.joined(separator: ", ")) with its settings, e.g. '- train: "
                    + "{epochs: 5}'"
            )
        }
        guard Self.stageNames.contains(name) else {
            throw RecipeError(
                source, key.mark, "unknown stage '\(name)'; accepted: \(Self.stageNames.joined(separator: ", "))")
        }
        let settings = value.null != nil ? YAMLNode.mapping([:]) : value
        switch name {
        case "train", "retrain":
            guard name == "retrain" else { return .train(try training(settings, name, extra: [])) }
            let distillKeys = ["distill", "temperature", "distill_weight"]
            var t = try training(settings, name, extra: distillKeys)
            let m = try mapping(settings, "stage 'retrain'", accepted: Self.trainingKeys + distillKeys)
            if let v = m["distill"] { t.distill = try bool(v) }
            if let v = m["temperature"] { t.temperature = try number(v, in: Distillation.temperatures) }
            if let v = m["distill_weight"] { t.distillWeight = try number(v, in: Distillation.weights) }
            return .retrain(t)
        case "sparse":
            let m = try mapping(settings, "stage 'sparse'", accepted: Self.trainingKeys + ["regularizer", "lambda"])
            let reg = try m["regularizer"].map { try strategySpec($0, .regularizer) } ?? Recipe.defaultRegularizer
            let lambda = try m["lambda"].map { Float(try number($0, above: 0)) } ?? Recipe.defaultLambda(reg)
            return .sparse(
                try training(settings, name, extra: ["regularizer", "lambda"]), regularizer: reg, lambda: lambda)
        case "prune":
            return .prune(try pruning(settings))
        case "eval":
            _ = try mapping(settings, "stage 'eval'", accepted: [])
            return .eval
        default:
            let m = try mapping(settings, "stage 'export'", accepted: ["path"])
            guard let path = m["path"] else { throw RecipeError(source, settings.mark, "stage 'export' needs 'path'") }
            return .export(path: try string(path))
        }
    }

    func training(_ node: YAMLNode, _ stage: String, extra: [String]) throws -> Recipe.Training {
        let m = try mapping(node, "stage '\(stage)'", accepted: Self.trainingKeys + extra)
        var t = Recipe.Training()
        if let v = m["epochs"] { t.epochs = try int(v, in: 1...SettingLimits.epochs.upperBound) }
        if let v = m["batch_size"] { t.batchSize = try int(v, in: SettingLimits.batchSize) }
        if let v = m["optimizer"] {
            t.optimizer = OptimizerKind(rawValue: try choice(v, OptimizerKind.allCases.map(\.rawValue)))!
        }
        if let v = m["lr"] { t.learningRate = try number(v, above: 0) }
        if let v = m["momentum"] { t.momentum = Float(try number(v, atLeast: 0)) }
        if let v = m["weight_decay"] { t.weightDecay = Float(try number(v, atLeast: 0)) }
        if let v = m["schedule"] { t.schedule = try choice(v, ["constant", "step", "cosine"]) }
        if let v = m["warmup_epochs"] { t.warmupEpochs = try number(v, atLeast: 0) }
        if t.warmupEpochs > Double(t.epochs) {
            throw RecipeError(
                source, m["warmup_epochs"]?.mark, "'warmup_epochs' (\(t.warmupEpochs)) exceeds 'epochs' (\(t.epochs))")
        }
        return t
    }

    func pruning(_ node: YAMLNode) throws -> Recipe.Pruning {
        let keys = [
            "strategy", "policy", "ratio", "global", "threshold", "target_macs", "target_params", "min_channels",
            "max_ratio",
            "round_to", "ignore", "steps", "finetune_epochs", "bias_compensation", "sensitivity", "recalibrate",
            "max_drop",
        ]
        let m = try mapping(node, "stage 'prune'", accepted: keys)
        var p = Recipe.Pruning()
        if let v = m["strategy"] { p.strategy = try strategySpec(v, .criterion) }
        if let v = m["policy"] { p.policy = try strategySpec(v, .policy) }
        let targets = ["ratio", "threshold", "target_macs", "target_params"].filter { m[$0] != nil }
        if let v = m["max_drop"] {
            guard targets.isEmpty, m["steps"] == nil else {
                throw RecipeError(
                    source, v.mark,
                    "'max_drop' searches for the budget itself: give it without "
                        + (targets + (m["steps"] == nil ? [] : ["steps"])).joined(separator: ", "))
            }
            p.search = BudgetSearch.Settings(
                maxDrop: try number(v, in: BudgetSearch.Settings.drops),
                finetuneEpochs: try m["finetune_epochs"].map { try int($0, in: SettingLimits.epochs) } ?? 0)
        }
        guard targets.count <= 1 else {
            throw RecipeError(
                source, node.mark,
                "give one budget of ratio, threshold, target_macs, target_params; got "
                    + "\(targets.joined(separator: ", "))"
            )
        }
        if let v = m["ratio"] {
            p.budget.target = .ratio(try number(v, atLeast: 0), global: try m["global"].map { try bool($0) } ?? false)
        }
        if let v = m["threshold"] { p.budget.target = .threshold(Float(try number(v, atLeast: 0))) }
        if let v = m["target_macs"] { p.budget.target = .macs(try number(v, above: 0)) }
        if let v = m["target_params"] { p.budget.target = .params(try number(v, above: 0)) }
        if let v = m["min_channels"] { p.budget.minChannels = try int(v, in: SettingLimits.minChannels) }
        if let v = m["max_ratio"] { p.budget.maxRatio = try number(v, above: 0) }
        if let v = m["round_to"] { p.budget.roundTo = try int(v, in: SettingLimits.roundTo) }
        if let v = m["ignore"] { p.budget.ignore = Set(try v.array().map { try string($0) }) }
        if let v = m["steps"] { p.steps = try int(v, in: SettingLimits.pruneSteps) }
        if let v = m["finetune_epochs"] { p.finetuneEpochs = try int(v, in: SettingLimits.epochs) }
        if let v = m["bias_compensation"] {
            p.biasCompensation = BiasCompensation(rawValue: try choice(v, BiasCompensation.allCases.map(\.rawValue)))!
        }
        if let v = m["sensitivity"] { p.sensitivity = try bool(v) }
        if let v = m["recalibrate"] { p.recalibrationBatches = try int(v, in: SettingLimits.recalibrationBatches) }
        do { try p.budget.validate() } catch { throw RecipeError(source, node.mark, "\(error)") }
        return p
    }

    // MARK: - Values

    /// A criterion, policy or regulariser: `NAME`, `NAME:key=value,...` or a map
    /// `{name: NAME, key: value, ...}`, checked against the registry. A refused parameter of the
    /// map form is reported at its own line.
    func strategySpec(_ node: YAMLNode, _ kind: StrategyKind) throws -> StrategySpec {
        let spec: StrategySpec
        var marks: [String: Mark] = [:]
        switch node {
        case .scalar:
            spec = StrategySpec(try string(node))
        case let .mapping(m):
            var name: String?
            var values: [StrategySpec.Value] = []
            for (key, value) in m {
                let k = key.string ?? "?"
                guard case .scalar = value, let v = value.string else {
                    throw RecipeError(
                        source, value.mark, "'\(k)' of the \(kind.rawValue) takes one value, not a list or a map")
                }
                if k == "name" {
                    name = v
                } else {
                    values.append(StrategySpec.Value(k, v))
                    marks[k] = marks[k] ?? key.mark
                }
            }
            guard let name else {
                throw RecipeError(
                    source, node.mark, "a \(kind.rawValue) given as a map needs 'name', e.g. {name: taylor, batches: 8}"
                )
            }
            spec = StrategySpec(name: name, values: values)
        default:
            throw RecipeError(
                source, node.mark,
                "a \(kind.rawValue) is NAME, NAME:key=value,... or a map {name: NAME, key: value, ...}")
        }
        do { try strategies.validate(spec, as: kind) } catch {
            throw RecipeError(source, error.parameter.flatMap { marks[$0] } ?? node.mark, "\(error)")
        }
        return spec
    }

    func mapping(_ node: YAMLNode, _ what: String, accepted: [String]) throws -> [String: YAMLNode] {
        guard case let .mapping(m) = node else {
            throw RecipeError(
                source, node.mark,
                "\(what) must be a mapping of \(accepted.isEmpty ? "nothing" : accepted.joined(separator: ", "))")
        }
        var out: [String: YAMLNode] = [:]
        for (key, value) in m {
            guard let name = key.string, accepted.contains(name) else {
                let listed = accepted.isEmpty ? "it takes no settings" : "accepted: \(accepted.joined(separator: ", "))"
                throw RecipeError(source, key.mark, "unknown key '\(key.string ?? "?")' in \(what); \(listed)")
            }
            guard out[name] == nil else { throw RecipeError(source, key.mark, "'\(name)' appears twice in \(what)") }
            out[name] = value
        }
        return out
    }

    func string(_ node: YAMLNode) throws -> String {
        guard case .scalar = node, let s = node.string else {
            throw RecipeError(source, node.mark, "expected a string")
        }
        return s
    }

    func choice(_ node: YAMLNode, _ accepted: [String]) throws -> String {
        let s = try string(node)
        guard accepted.contains(s) else {
            throw RecipeError(
                source, node.mark, "'\(s)' is not accepted here; accepted: \(accepted.joined(separator: ", "))")
        }
        return s
    }

    /// YAML 1.1 base-60 integers (`1:30`) are refused before Yams reads them: it multiplies their
    /// digits without overflow checks and traps on a long one (found by fuzz-recipe).
    func int(_ node: YAMLNode, in range: ClosedRange<Int>) throws -> Int {
        if let text = node.scalar?.string, text.contains(":") {
            throw RecipeError(
                source, node.mark,
                "expected \(OutsideNumber.describe(range)), got '\(text)' (base-60 numbers are not accepted)")
        }
        guard let v = node.int else {
            throw RecipeError(
                source, node.mark, "expected \(OutsideNumber.describe(range)), got '\(node.string ?? "?")'")
        }
        do { return try OutsideNumber.integer(v, in: range) } catch { throw RecipeError(source, node.mark, "\(error)") }
    }
    func number(_ node: YAMLNode, in range: ClosedRange<Double>) throws -> Double {
        guard let v = node.float else {
            throw RecipeError(
                source, node.mark, "expected \(OutsideNumber.describe(range)), got '\(node.string ?? "?")'")
        }
        do { return try OutsideNumber.finite(v, in: range) } catch { throw RecipeError(source, node.mark, "\(error)") }
    }

    func number(_ node: YAMLNode, above: Double) throws -> Double {
        guard let v = node.float, v > above, v.isFinite else {
            throw RecipeError(source, node.mark, "expected a number above \(above), got '\(node.string ?? "?")'")
        }
        return v
    }

    func number(_ node: YAMLNode, atLeast: Double) throws -> Double {
        guard let v = node.float, v >= atLeast, v.isFinite else {
            throw RecipeError(
                source, node.mark, "expected a number of at least \(atLeast), got '\(node.string ?? "?")'")
        }
        return v
    }

    func bool(_ node: YAMLNode) throws -> Bool {
        guard let v = node.bool else {
            throw RecipeError(source, node.mark, "expected true or false, got '\(node.string ?? "?")'")
        }
        return v
    }

    func ints(_ node: YAMLNode) throws -> [Int] {
        guard case let .sequence(s) = node else { throw RecipeError(source, node.mark, "expected a list of integers") }
        return try s.map { try int($0, in: 0...OutsideNumber.largestSize) }
    }

    func range(_ node: YAMLNode) throws -> Range<Int> {
        let v = try ints(node)
        guard v.count == 2, v[0] < v[1] else {
            throw RecipeError(source, node.mark, "expected [first, end) sample indices such as [0, 4000]")
        }
        return v[0]..<v[1]
    }
}

/// A recipe was refused; nothing ran.
public struct RecipeError: Error, CustomStringConvertible, Equatable {
    public var source: String
    public var line: Int?
    public var message: String

    init(_ source: String, _ mark: Mark?, _ message: String) {
        self.source = source
        self.line = mark?.line
        self.message = message
    }

    public var description: String { "\(source)\(line.map { ":\($0)" } ?? ""): \(message)" }
}

extension StrategySpecError {
    /// The parameter the error is about, if any (to point at its line in a recipe).
    var parameter: String? {
        switch self {
        case let .unknownParameter(_, parameter, _), let .duplicateParameter(_, parameter, _): return parameter
        case let .wrongType(_, parameter, _, _), let .outOfRange(_, parameter, _, _): return parameter.name
        default: return nil
        }
    }
}
