import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonPipeline
import SurgeonStrategies

/// The options that turn a model into a pruning plan: criterion, policy, budget, limits (the
/// data of data-driven criteria are in `ModelDataOptions`).
struct StrategyOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The importance criterion, NAME or NAME:key=value,...: "
                + "\(Registries.current.strategies.names(.criterion).joined(separator: ", ")) (see `surgeon "
                + "strategies`).",
            valueName: "NAME"))
    var strategy: String?

    @Option(
        help: ArgumentHelp(
            "How a group's members combine: \(Registries.current.strategies.names(.policy).joined(separator: ", ")).",
            valueName: "NAME"))
    var policy = "mean"

    @Option(
        help: ArgumentHelp("Delete this share of the channels (of each group; of all, with --global).", valueName: "R"))
    var ratio: Double?
    @Flag(help: "With --ratio: rank all channels together (scores normalised per group).") var global = false
    @Option(help: ArgumentHelp("Delete every channel scoring below T (e.g. |gamma| < 0.01).", valueName: "T"))
    var threshold: Float?
    @Option(help: ArgumentHelp("Prune until MACs are at most this fraction of the original.", valueName: "F"))
    var targetMacs: Double?
    @Option(help: ArgumentHelp("Prune until parameters are at most this fraction of the original.", valueName: "F"))
    var targetParams: Double?
    @Option(help: "Channels every group keeps, at least.") var minChannels = 1
    @Option(help: ArgumentHelp("The largest share of one group that may go.", valueName: "R")) var maxRatio = 0.9
    @Option(
        help: ArgumentHelp(
            "Round kept channels up to a multiple of N (with a MACs or parameter target, channels a rounded step "
                + "cut beyond the target are given back, N at a time).", valueName: "N"))
    var roundTo = 1
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Leave the groups of these layers alone.", valueName: "LAYER"))
    var ignore: [String] = []
    @Option(help: "Seed for the random criterion and sampling.") var seed: UInt64 = 0

    var requested: Bool { strategy != nil }

    /// The budget options given.
    var targets: [String] {
        [
            ("--ratio", ratio != nil), ("--threshold", threshold != nil), ("--target-macs", targetMacs != nil),
            ("--target-params", targetParams != nil),
        ].filter(\.1).map(\.0)
    }

    func validate() throws {
        guard let strategy else { return }
        do {
            try Registries.current.strategies.validate(StrategySpec(strategy), as: .criterion)
            try Registries.current.strategies.validate(StrategySpec(policy), as: .policy)
        } catch { throw ValidationError("\(error)") }
        guard targets.count <= 1 else {
            throw ValidationError("give exactly one budget: --ratio, --threshold, --target-macs or --target-params")
        }
        if global, ratio == nil { throw ValidationError("--global goes with --ratio") }
        do { try budget().validate() } catch { throw ValidationError("\(error)") }
    }

    /// Refuses a missing budget (`plan`, and `prune` without `--max-drop`, which finds its own).
    func requireBudget() throws {
        guard requested, targets.isEmpty else { return }
        throw ValidationError("give exactly one budget: --ratio, --threshold, --target-macs or --target-params")
    }

    func budget() -> Budget {
        let target: Budget.Target
        if let ratio {
            target = .ratio(ratio, global: global)
        } else if let threshold {
            target = .threshold(threshold)
        } else if let targetMacs {
            target = .macs(targetMacs)
        } else if let targetParams {
            target = .params(targetParams)
        } else {
            // No budget given: `prune --max-drop` sets the MACs target itself; the limits still hold.
            target = .macs(1)
        }
        return Budget(target, minChannels: minChannels, maxRatio: maxRatio, roundTo: roundTo, ignore: Set(ignore))
    }

    func planner() throws -> Planner {
        Planner(
            criterion: try Registries.current.strategies.criterion(StrategySpec(strategy ?? "")),
            policy: try Registries.current.strategies.policy(StrategySpec(policy)), budget: budget(),
            surgeon: Registries.current.surgeon)
    }
}
