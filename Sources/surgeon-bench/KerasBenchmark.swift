import ArgumentParser
import Foundation
import Layers
import SurgeonCLI
import SurgeonCore
import SurgeonKeras
import SurgeonPipeline
import SurgeonStrategies

/// A Keras model through surgeon: load the `.keras` / `.h5` file, prune it to a MAC budget with
/// a criterion, and save the pruned `.keras`, timing each stage in one process.
struct KerasBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keras",
        abstract: "Time loading a Keras model, pruning it to a MAC budget, and saving the pruned .keras file.")

    @Argument(help: ArgumentHelp("The Keras model (.keras or .h5).", valueName: "MODEL")) var model: String
    @Option(name: .shortAndLong, help: ArgumentHelp("The pruned model to write.", valueName: "OUT.keras")) var output:
        String
    @Option(help: "The importance criterion (NAME or NAME:key=value,...).") var strategy = "l1"
    @Option(help: "The fraction of MACs to keep.") var targetMacs = 0.5
    @Option(help: "Threads.") var threads = 1
    @Flag(help: "Print JSON.") var json = false

    struct Report: Codable {
        var model: String
        var layers: Int
        var params_before: Int
        var params_after: Int
        var macs_before: Int
        var macs_after: Int
        var seconds_load: Double
        var seconds_prune: Double
        var seconds_save: Double
    }

    func run() throws {
        Compute.setThreads(threads)
        var clock = ContinuousClock.now
        func lap() -> Double {
            let now = ContinuousClock.now
            defer { clock = now }
            return (now - clock).inSeconds
        }
        let contents = try Registries.standard.loadModel(model)
        let load = lap()
        let graph = contents.graph
        let strategies = Registries.standard.strategies
        let planner = Planner(
            criterion: try strategies.criterion(StrategySpec(strategy)),
            policy: try strategies.policy("mean"), budget: Budget(.macs(targetMacs)), surgeon: .standard)
        // The probe `surgeon prune` uses without --data, so both produce the same pruned model.
        let probe = BiasCompensation.randomProbe(shape: graph.shapes[graph.inputNodeIndices.first ?? 0], seed: 0)
        let pruned = try planner.prune(graph, steps: 1, data: nil, probe: probe, compensation: .exact, seed: 0).graph
        let prune = lap()
        try Registries.standard.saveModel(ModelContents(graph: pruned, metadata: contents.metadata), to: output)
        let save = lap()
        let report = Report(
            model: model, layers: graph.nodes.count, params_before: graph.parameterCount,
            params_after: pruned.parameterCount,
            macs_before: graph.macCount, macs_after: pruned.macCount, seconds_load: load, seconds_prune: prune,
            seconds_save: save)
        if json {
            print(String(decoding: try JSONEncoder().encode(report), as: UTF8.self))
            return
        }
        print(
            """
            \(model): \(report.layers) layers, params \(report.params_before) -> \(report.params_after), \
            MACs \(report.macs_before) -> \(report.macs_after) \
            (\(String(format: "%.1f", 100 * Double(report.macs_after) / Double(max(report.macs_before, 1))))%)
            load \(String(format: "%.2f", load)) s, prune \(String(format: "%.2f", prune)) s, \
            save \(String(format: "%.2f", save)) s
            """)
    }
}
