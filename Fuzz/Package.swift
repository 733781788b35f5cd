// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets, one per parser; each main.swift calls an entry of SurgeonFuzzEntries (main package).
// Build with `swift build --sanitize=address --sanitize=fuzzer` here (in that order: see run.sh), or `make fuzz`
// at the top.
let targets = ["npy", "npz", "model", "keras", "hdf5", "plan", "recipe", "checkpoint"]

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
