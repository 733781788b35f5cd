import ArgumentParser
import Foundation
import SurgeonCore

/// `--threads`, shared by every command that computes.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for kernels and OpenBLAS (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func apply() { Compute.setThreads(threads ?? Compute.defaultThreads) }
}

/// `--batch-size` of inference (`eval`, `predict`).
struct InferenceBatchOptions: ParsableArguments {
    @Option(help: "Samples per inference batch.") var batchSize = 256

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    }
}

/// `--json`.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print the result as JSON on standard output.")
    var json = false
}

extension BiasCompensation: ExpressibleByArgument {}
