// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets, one per parser; each main.swift calls an entry of SurgeonFuzzEntries (main package).
// Build with Fuzz/run.sh (it adds the Swift coverage flags that `--sanitize=fuzzer` alone leaves out), or
// `make fuzz` at the top.
let targets = ["npy", "npz", "model", "keras", "hdf5", "plan", "recipe", "checkpoint", "state", "onnx"]

let package = Package(
    name: "surgeon-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "surgeon", path: "..")],
    targets: targets.map {
        .executableTarget(
            name: "fuzz-\($0)",
            dependencies: [.product(name: "SurgeonFuzzEntries", package: "surgeon")]
        )
    }
)
