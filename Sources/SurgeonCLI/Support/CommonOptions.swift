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

/// `--data` and `--labels` NumPy files, with the input normalisation.
struct LabeledDataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Images as a NumPy .npy file, NHWC (uint8 grey levels are scaled to [0, 1]).", valueName: "X.npy"))
    var data: String

    @Option(help: ArgumentHelp("Labels as a NumPy .npy file: integer classes [N] or one-hot rows [N, classes].", valueName: "Y.npy"))
    var labels: String
}

/// `--mean` and `--std` for inputs, applied after scaling to [0, 1].
struct NormalizationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Per-channel mean(s) subtracted after scaling to [0, 1], comma-separated (default: 0, or what the model was trained with).", valueName: "M[,M...]"))
    var mean: String?

    @Option(help: ArgumentHelp("Per-channel standard deviation(s) divided by, comma-separated (default: 1, or what the model was trained with).", valueName: "S[,S...]"))
    var std: String?

    func validate() throws {
        _ = try parsed(stored: nil)
    }

    /// The options given, else the normalisation stored with the model, else [0, 1] scaling.
    func parsed(stored: InputNormalization?) throws -> InputNormalization {
        var n = stored ?? .unitRange
        if let mean { n.mean = try Self.floats(mean, option: "--mean") }
        if let std {
            n.std = try Self.floats(std, option: "--std")
            guard n.std.allSatisfy({ $0 > 0 }) else { throw ValidationError("--std values must be positive, got \(std)") }
        }
        return n
    }

    static func floats(_ text: String, option: String) throws -> [Float] {
        let parts = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0!.isFinite }) else {
            throw ValidationError("\(option) takes comma-separated numbers, got '\(text)'")
        }
        return parts.map { $0! }
    }
}

/// `--json`.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print the result as JSON on standard output.")
    var json = false
}

extension BiasCompensation: ExpressibleByArgument {}
