import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonPipeline

/// Surgery at scale: plan validation + apply on ResNet-50, deleting half of every group.
struct PruneBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract:
            "Time channel-group analysis, plan validation and apply on a large model (half of every group deleted).")

    @Option(help: "The architecture.") var variant = "resnet50"
    @Option(help: ArgumentHelp("Input shape.", valueName: "H,W,C")) var inputShape = "224,224,3"
    @Option(help: "Classes.") var classes = 1000
    @Option(help: "Threads.") var threads = 1
    @Option(help: "Repeats; medians are reported.") var repeats = 15
    @Flag(help: "Print JSON.") var json = false

    struct Report: Codable {
        var variant: String
        var params_before: Int
        var params_after: Int
        var groups: Int
        var prunable_groups: Int
        var median_ms_total: Double
        var median_ms_analyze: Double
        var median_ms_validate: Double
        var median_ms_rewrite_and_rebuild: Double
        var median_ms_rebuild_only: Double
    }

    func run() throws {
        Compute.setThreads(threads)
        let shape = inputShape.split(separator: ",").compactMap { Int($0) }
        let graph = try ArchitectureRegistry.standard.architecture(named: variant)
            .build(ArchitectureOptions(inputShape: shape, classes: classes))
        let surgeon = Surgeon.standard
        let template = PruningPlan(template: try surgeon.analyze(graph))
        var plan = template
        for k in plan.groups.indices where plan.groups[k].prunable {
            plan.groups[k].delete = Array(0..<(plan.groups[k].size / 2))
        }
        var total: [Double] = [], analyze: [Double] = [], validate: [Double] = [], apply: [Double] = [],
            rebuild: [Double] = []
        var pruned = graph
        func ms(_ start: ContinuousClock.Instant) -> Double { (ContinuousClock.now - start).inSeconds * 1000 }
        for _ in 0..<repeats {
            let t0 = ContinuousClock.now
            let analysis = try surgeon.analyze(graph)
            let t1 = ContinuousClock.now
            _ = try surgeon.validate(plan, against: analysis)
            let t2 = ContinuousClock.now
            pruned = try surgeon.apply(plan, to: graph, analysis: analysis)
            apply.append(ms(t2))
            analyze.append(ms(t0) - ms(t1))
            validate.append(ms(t1) - ms(t2))
            total.append(ms(t0))
            let t3 = ContinuousClock.now
            _ = try Graph(nodes: pruned.nodes, outputs: pruned.outputNames)
            rebuild.append(ms(t3))
        }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        let analysis = try surgeon.analyze(graph)
        let report = Report(
            variant: variant, params_before: graph.parameterCount, params_after: pruned.parameterCount,
            groups: analysis.groups.count, prunable_groups: analysis.prunableGroups.count,
            median_ms_total: median(total), median_ms_analyze: median(analyze), median_ms_validate: median(validate),
            median_ms_rewrite_and_rebuild: median(apply), median_ms_rebuild_only: median(rebuild))
        if json {
            print(String(decoding: try JSONEncoder().encode(report), as: UTF8.self))
            return
        }
        print(
            """
            \(variant): \(report.params_before) -> \(report.params_after) parameters, \
            \(report.groups) groups (\(report.prunable_groups) prunable), half of every prunable group deleted
            median of \(repeats): total \(String(format: "%.1f", report.median_ms_total)) ms = \
            analyze \(String(format: "%.1f", report.median_ms_analyze)) + \
            validate \(String(format: "%.2f", report.median_ms_validate)) + \
            rewrite & rebuild \(String(format: "%.1f", report.median_ms_rewrite_and_rebuild)) ms \
            (of which rebuilding the graph \(String(format: "%.1f", report.median_ms_rebuild_only)) ms)
            """)
    }
}
