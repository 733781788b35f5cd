import ArgumentParser
import Foundation
import Layers
import SurgeonCore
import SurgeonPipeline

/// Inference latency of a model file or a built-in architecture at one batch size.
struct InferenceBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Inference latency (ms per batch, median) of a model file or a built-in architecture.")

    @Option(help: ArgumentHelp("A model file (.surgeon, .keras, .h5, .onnx); else --variant.", valueName: "MODEL"))
    var model: String?
    @Option(help: "mobilenetv2, res, vgg or resnet50, when no --model is given.") var variant = "vgg"
    @Option(help: ArgumentHelp("Input shape of --variant.", valueName: "H,W,C")) var inputShape = "28,28,1"
    @Option(help: "Classes of --variant.") var classes = 10
    @Option(help: "Threads.") var threads = 1
    @Option(help: "Samples per batch.") var batchSize = 1
    @Option(help: "Timed batches; the median is reported.") var repeats = 51
    @Flag(
        inversion: .prefixedNo,
        help: ArgumentHelp(
            "Run the model as surgeon predicts with it (BatchNorm folded, activations fused); --no-inference-form "
                + "runs the graph as it is."))
    var inferenceForm = true
    @Option(help: "Convolution backend: onednn or reference (im2col + OpenBLAS).")
    var convolutionBackend = ConvolutionBackend.onednn
    @Flag(help: "Also print the time per layer type (one extra pass of --repeats batches).") var profile = false
    @Flag(help: "Print JSON.") var json = false

    struct Report: Codable {
        var model: String
        var threads: Int
        var batch_size: Int
        var inference_form: Bool
        var convolution_backend: String
        var macs: Int
        var milliseconds: Double
        var repeats_milliseconds: [Double]
        var peak_resident_bytes: Int
        /// With --profile: milliseconds per batch by layer type.
        var profile: [String: Double]?
    }

    func validate() throws {
        try requirePositive(["--threads": threads, "--batch-size": batchSize, "--repeats": repeats])
    }

    func run() throws {
        Compute.setThreads(threads)
        ConvolutionBackend.current = convolutionBackend
        let shape = inputShape.split(separator: ",").compactMap { Int($0) }
        let loaded: Graph
        if let model {
            loaded = try Registries.standard.loadModel(model).graph
        } else {
            loaded = try ArchitectureRegistry.standard.architecture(named: variant)
                .build(ArchitectureOptions(inputShape: shape, classes: classes))
        }
        let graph = inferenceForm ? try InferenceForm.prepared(loaded) : loaded
        let input = Array(graph.shapes[graph.inputNodeIndices.first ?? 0])
        var random = SeededRandom(seed: 7)
        var images = Tensor(shape: [batchSize] + input)
        for i in 0..<images.count { images.scalars[i] = random.nextUnitFloat() }
        for _ in 0..<3 { _ = try graph.predict([images]) }
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            _ = try graph.predict([images])
            times.append((ContinuousClock.now - start).inSeconds * 1000)
        }
        let median = times.sorted()[times.count / 2]
        var report = Report(
            model: model ?? variant, threads: threads, batch_size: batchSize, inference_form: inferenceForm,
            convolution_backend: convolutionBackend.rawValue, macs: graph.macCount, milliseconds: median,
            repeats_milliseconds: times, peak_resident_bytes: TrainThroughput.peakResidentBytes())
        if profile { report.profile = try Self.profile(graph, images, repeats: repeats) }
        if json {
            print(String(decoding: try JSONEncoder().encode(report), as: UTF8.self))
            return
        }
        print(
            String(
                format: "%@: %.3f ms per batch of %d (%d thread(s), median of %d, %@), %@ MACs per sample",
                report.model, median, batchSize, threads, repeats,
                inferenceForm ? "inference form" : "graph as is", graph.macCount.formatted()))
        for (type, ms) in (report.profile ?? [:]).sorted(by: { $0.value > $1.value }) {
            print("  " + type.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%8.3f ms", ms))
        }
    }

    /// Milliseconds per batch by layer type, from the time between consecutive nodes' outputs.
    static func profile(_ graph: Graph, _ images: Tensor, repeats: Int) throws -> [String: Double] {
        var totals: [String: Double] = [:]
        for _ in 0..<repeats {
            var last = ContinuousClock.now
            _ = try graph.predict([images]) { node, _ in
                let now = ContinuousClock.now
                totals[graph.nodes[node].layer.kerasClassName, default: 0] += (now - last).inSeconds * 1000
                last = now
            }
        }
        return totals.mapValues { $0 / Double(repeats) }
    }
}
