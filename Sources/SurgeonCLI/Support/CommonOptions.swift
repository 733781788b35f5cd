import ArgumentParser
import Foundation
import SurgeonCore

/// `--threads`, shared by every command that computes.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for kernels and OpenBLAS (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads { try OptionBounds.check(threads, "--threads", SettingLimits.threads) }
    }

    func apply() { Compute.setThreads(threads ?? Compute.defaultThreads) }
}

/// `--batch-size` of inference (`eval`, `predict`).
struct InferenceBatchOptions: ParsableArguments {
    @Option(help: "Samples per inference batch.") var batchSize = 256

    func validate() throws {
        try OptionBounds.check(batchSize, "--batch-size", SettingLimits.batchSize)
    }
}

/// `--json`.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print the result as JSON on standard output.")
    var json = false
}

extension BiasCompensation: ExpressibleByArgument {}
