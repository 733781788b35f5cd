import Foundation
import Layers
import SurgeonCore
import SurgeonFormats
import SurgeonKeras
import SurgeonONNX
import SurgeonPipeline

/// The parsers surgeon fuzzes, each fed bytes from memory; errors are the expected outcome and are discarded.
///
/// `Fuzz/` wraps each entry in a libFuzzer target; `SurgeonFuzzEntriesTests` replays every corpus and
/// regression input through the same entries in the normal test suite.
public enum FuzzEntries {
    /// Every entry by target name (the folder name under `Fuzz/corpus`).
    public static let all: [(name: String, entry: @Sendable ([UInt8]) -> Void)] = [
        ("npy", fuzzNpy), ("npz", fuzzNpz), ("model", fuzzModelFile), ("keras", fuzzKeras),
        ("hdf5", fuzzHDF5), ("plan", fuzzPlan), ("recipe", fuzzRecipe), ("checkpoint", fuzzCheckpoint),
        ("state", fuzzRunState), ("onnx", fuzzONNX),
    ]

    /// `.npy` bytes.
    public static func fuzzNpy(_ bytes: [UInt8]) {
        _ = try? Npy.decode(Data(bytes), source: "fuzz.npy")
    }

    /// `.npz` (zip of `.npy`) bytes.
    public static func fuzzNpz(_ bytes: [UInt8]) {
        _ = try? Npz.decode(Data(bytes), source: "fuzz.npz")
    }

    /// `.surgeon` bytes; the unkeyed checksum is recomputed over the mutated header and data first,
    /// so that mutations reach the header JSON and the layer configs.
    public static func fuzzModelFile(_ bytes: [UInt8]) {
        _ = try? ModelFile.decode(Data(withValidChecksum(bytes)), source: "fuzz.surgeon", registry: .standard)
    }

    /// `.keras` archive bytes (zip, config JSON, weights image).
    public static func fuzzKeras(_ bytes: [UInt8]) {
        _ = try? KerasModelFile.decodeArchive(Data(bytes), path: "fuzz.keras", registry: .standard)
    }

    /// `.onnx` bytes (protobuf, constant folding, layer mapping); a model that reads is written
    /// back too. External data would be looked up in a folder that does not exist.
    public static func fuzzONNX(_ bytes: [UInt8]) {
        let model = URL(fileURLWithPath: "/nonexistent-surgeon-fuzz/fuzz.onnx")
        guard let contents = try? ONNXModelFile.decode(Data(bytes), model: model, registry: .standard) else { return }
        _ = try? ONNXModelFile.encode(contents)
    }

    /// Legacy `.h5` bytes: the HDF5 image guard runs before the HDF5 library opens the image.
    public static func fuzzHDF5(_ bytes: [UInt8]) {
        _ = try? KerasModelFile.decodeLegacy(Data(bytes), path: "fuzz.h5", registry: .standard)
    }

    /// A `last.surgeon` checkpoint (checksum recomputed), read back as `train --resume` reads it:
    /// the training progress, the optimizer slots against their weights and the fingerprint. The
    /// trainer takes the settings stored in the checkpoint, so mutations get past the settings check.
    public static func fuzzCheckpoint(_ bytes: [UInt8]) {
        _ = try? resumeEpoch(ofCheckpoint: bytes)
    }

    /// What `fuzzCheckpoint` computes: the epoch a resume would continue from, nil without a
    /// readable model, or the refusal.
    public static func resumeEpoch(ofCheckpoint bytes: [UInt8]) throws -> Int? {
        guard
            let contents = try? ModelFile.decode(
                Data(withValidChecksum(bytes)), source: "fuzz/last.surgeon", registry: .standard)
        else { return nil }
        var stored: ConfigValue?
        if case let .object(progress)? = contents.metadata["training_progress"] { stored = progress["configuration"] }
        let configuration = stored.flatMap { try? $0.decode(as: TrainingConfiguration.self) } ?? TrainingConfiguration()
        let data = try LabeledData(images: Tensor(shape: [2, 1]), labels: [0, 1])
        let trainer = Trainer(configuration: configuration, checkpoints: OneCheckpoint(last: contents))
        return try trainer.resumeEpoch(startingFrom: contents.graph, data: data)
    }

    /// A run folder's `state.json`, checked against a three-stage recipe as `surgeon run` checks it
    /// before resuming.
    public static func fuzzRunState(_ bytes: [UInt8]) {
        guard let recipe = stateRecipe else { return }
        _ = try? PipelineRunner.completedStages(inState: Data(bytes), source: "fuzz/state.json", recipe: recipe)
    }

    /// The recipe the committed `state` seeds were written by (Fuzz/make_state_seeds.sh).
    public static let stateRecipeText = """
        model: {architecture: vgg, input_shape: [8, 8, 1], classes: 3, width: 0.1}
        data: {images: x.npy, labels: y.npy, train: [0, 6], validation: [6, 8]}
        stages:
          - train: {epochs: 1, batch_size: 4}
          - prune: {strategy: l1, ratio: 0.5}
          - retrain: {epochs: 1, batch_size: 4}
        """

    static let stateRecipe = try? RecipeParser(source: "fuzz.yaml").parse(stateRecipeText)

    /// Pruning plan JSON, decoded as `surgeon prune --plan` decodes it.
    public static func fuzzPlan(_ bytes: [UInt8]) {
        _ = try? JSONDecoder().decode(PruningPlan.self, from: Data(bytes))
    }

    /// Recipe YAML.
    public static func fuzzRecipe(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        _ = try? RecipeParser(source: "fuzz.yaml").parse(text)
    }

    /// The bytes with the `.surgeon` prefix's checksum (offset 32) recomputed when the lengths fit.
    /// A copy of `ModelFile.checksum` (internal there), kept identical on purpose.
    public static func withValidChecksum(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 40 else { return bytes }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        let headerLength = u64(16)
        let dataLength = u64(24)
        let available = UInt64(bytes.count - 40)
        guard headerLength <= available, dataLength <= available - headerLength else { return bytes }
        let header = Data(bytes[40..<(40 + Int(headerLength))])
        let data = Data(bytes[(40 + Int(headerLength))..<(40 + Int(headerLength) + Int(dataLength))])
        var out = bytes
        let sum = checksum(header, data)
        for i in 0..<8 { out[32 + i] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(i))) }
        return out
    }

    static func checksum(_ header: Data, _ data: Data) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for part in [header, data] {
            part.withUnsafeBytes { raw in
                let words = raw.count / 8
                for i in 0..<words {
                    let w = raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                    h = (h ^ w) &* 0x9E37_79B9_7F4A_7C15
                    h = (h << 31) | (h >> 33)
                }
                var tail: UInt64 = 0
                for i in (words * 8)..<raw.count { tail = (tail << 8) | UInt64(raw[i]) }
                h = (h ^ tail ^ UInt64(raw.count)) &* 0xC2B2_AE3D_27D4_EB4F
                h ^= h >> 29
            }
        }
        return h
    }
}

/// A checkpoint store holding one `last` checkpoint in memory.
private struct OneCheckpoint: CheckpointStore {
    var last: ModelContents
    func save(_ contents: ModelContents, as name: String) throws {}
    func load(_ name: String) throws -> ModelContents? { name == "last" ? last : nil }
    func location(of name: String) -> String { "fuzz/\(name).surgeon" }
}
