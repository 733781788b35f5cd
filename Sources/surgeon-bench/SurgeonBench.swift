import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonPipeline

/// `surgeon-bench`: performance measurements, run in release builds (never in tests).
@main
struct SurgeonBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "surgeon-bench",
        abstract: "Measure surgeon's speed (build with -c release).",
        subcommands: [TrainThroughput.self, InferenceBenchmark.self, PruneBenchmark.self, KerasBenchmark.self])
}

/// Training throughput of a built-in architecture on random data.
struct TrainThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training throughput (images/s) of one architecture: forward, backward and an SGD step per batch.")

    @Option(help: "mobilenetv2, res, vgg or resnet50.") var variant = "vgg"
    @Option(help: ArgumentHelp("Input shape.", valueName: "H,W,C")) var inputShape = "28,28,1"
    @Option(help: "Classes.") var classes = 10
    @Option(help: "Threads.") var threads = 1
    @Option(help: "Samples per batch.") var batchSize = 64
    @Option(help: "Timed steps per repeat.") var steps = 20
    @Option(help: "Repeats; the median is reported.") var repeats = 3
    @Option(help: "Convolution backend: onednn or reference (im2col + OpenBLAS).")
    var convolutionBackend = ConvolutionBackend.onednn
    @Flag(help: "Print JSON.") var json = false
    @Flag(
        help: ArgumentHelp(
            "After the timed repeats, time --steps more steps per layer type, forward and backward, and print "
                + "where the time goes (the timed figures are measured without it)."))
    var profile = false

    struct Report: Codable {
        var variant: String
        var threads: Int
        var convolution_backend: String
        var batch_size: Int
        var images_per_second: Double
        var repeats_images_per_second: [Double]
        /// The process's peak resident memory after the timed steps (getrusage's ru_maxrss).
        var peak_resident_bytes: Int
        /// With --profile: seconds per layer type over `profile_steps` steps.
        var profile: [LayerProfile.Entry]?
        var profile_steps: Int?
    }

    func validate() throws {
        try requirePositive(["--threads": threads, "--batch-size": batchSize, "--steps": steps, "--repeats": repeats])
    }

    func run() throws {
        Compute.setThreads(threads)
        ConvolutionBackend.current = convolutionBackend
        let shape = inputShape.split(separator: ",").compactMap { Int($0) }
        let graph = try ArchitectureRegistry.standard.architecture(named: variant)
            .build(ArchitectureOptions(inputShape: shape, classes: classes))
        var random = SeededRandom(seed: 7)
        var images = Tensor(shape: [batchSize] + shape)
        for i in 0..<images.count { images.scalars[i] = random.nextUnitFloat() }
        let labels = (0..<batchSize).map { _ in Int(random.next() % UInt64(classes)) }
        let batch = try LabeledData(images: images, labels: labels)
        var g = graph
        var optimizer = Optimizer(settings: OptimizerSettings())
        let loss = SoftmaxCrossEntropy(fromLogits: !g.producesProbabilities)
        func step(_ k: Int, profile: LayerProfile? = nil) throws {
            _ = try Trainer.step(
                &g, optimizer: &optimizer, batch: batch, loss: loss, learningRate: 0.01,
                context: ForwardContext(training: true, seed: UInt64(k)), profile: profile)
        }
        for k in 0..<3 { try step(k) }
        var rates: [Double] = []
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            for k in 0..<steps { try step(k) }
            rates.append(Double(steps * batchSize) / (ContinuousClock.now - start).inSeconds)
        }
        let median = rates.sorted()[rates.count / 2]
        var report = Report(
            variant: variant, threads: threads, convolution_backend: convolutionBackend.rawValue, batch_size: batchSize,
            images_per_second: median,
            repeats_images_per_second: rates, peak_resident_bytes: Self.peakResidentBytes())
        var layers: LayerProfile?
        if profile {
            let p = LayerProfile()
            for k in 0..<steps { try step(k, profile: p) }
            report.profile = p.table
            report.profile_steps = steps
            layers = p
        }
        if json {
            let data = try JSONEncoder().encode(report)
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(
                String(
                    format: "%@: %.1f images/s (batch %d, %d thread(s), median of %d), peak memory %.0f MiB", variant,
                    median, batchSize, threads, repeats, Double(report.peak_resident_bytes) / 1_048_576))
            if let layers { print(Self.table(layers, steps: steps)) }
        }
    }

    /// The peak resident set of this process so far, in bytes (Linux reports KiB).
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss) * 1024
    }

    /// The profile as a Markdown table: milliseconds per training step by layer type.
    static func table(_ profile: LayerProfile, steps: Int) -> String {
        let total = max(profile.totalSeconds, 1e-12)
        var lines = [
            "| layer type | calls per step | forward ms/step | backward ms/step | share |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for e in profile.table {
            lines.append(
                String(
                    format: "| %@ | %d | %.2f | %.2f | %.1f%% |", e.type, max(e.forwardCalls, e.backwardCalls) / steps,
                    1000 * e.forwardSeconds / Double(steps), 1000 * e.backwardSeconds / Double(steps),
                    100 * e.seconds / total))
        }
        lines.append(String(format: "| all | | | | %.2f ms/step |", 1000 * total / Double(steps)))
        return lines.joined(separator: "\n")
    }
}

extension ConvolutionBackend: ExpressibleByArgument {}

/// Throws a usage error naming the first option whose value is below 1.
func requirePositive(_ options: KeyValuePairs<String, Int>) throws {
    for (name, value) in options where value < 1 {
        throw ValidationError("\(name) must be at least 1, got \(value)")
    }
}
