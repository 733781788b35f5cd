// swift-tools-version:6.0
import PackageDescription

// The module map (README, "Modules"): dependencies point one way, towards SurgeonCore.
//
//   surgeon (@main) -> SurgeonCLI -> SurgeonPipeline -> SurgeonStrategies ----> SurgeonCore
//                               \                  \-> Layers ---------------/
//                                \-> SurgeonKeras ---> SurgeonFormats ------/
//                                 \-> SurgeonONNX --/
let package = Package(
    name: "surgeon",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "surgeon", targets: ["surgeon"]),
        .executable(name: "surgeon-bench", targets: ["surgeon-bench"]),
        .library(name: "SurgeonCore", targets: ["SurgeonCore"]),
        .library(name: "Layers", targets: ["Layers"]),
        .library(name: "SurgeonFormats", targets: ["SurgeonFormats"]),
        .library(name: "SurgeonKeras", targets: ["SurgeonKeras"]),
        .library(name: "SurgeonONNX", targets: ["SurgeonONNX"]),
        .library(name: "SurgeonStrategies", targets: ["SurgeonStrategies"]),
        .library(name: "SurgeonPipeline", targets: ["SurgeonPipeline"]),
        .library(name: "SurgeonCLI", targets: ["SurgeonCLI"]),
        .library(name: "SurgeonTestSupport", targets: ["SurgeonTestSupport"]),
        .library(name: "SurgeonFuzzEntries", targets: ["SurgeonFuzzEntries"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // oneDNN 2.x (no pkg-config file; links libdnnl and its OpenMP runtime): the fast convolutions.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CMalloc"),
        // Flush-to-zero for subnormal floats (C intrinsics Swift cannot call).
        .systemLibrary(name: "CFloatEnvironment"),
        .systemLibrary(
            name: "CHDF5",
            pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"]), .brew(["hdf5"])]
        ),
        .target(
            name: "SurgeonCore",
            dependencies: [
                "COpenBLAS", "CDNNL", "CMalloc", "CFloatEnvironment",
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .target(name: "Layers", dependencies: ["SurgeonCore"]),
        .target(
            name: "SurgeonFormats",
            dependencies: ["SurgeonCore", .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        .target(name: "SurgeonKeras", dependencies: ["SurgeonCore", "SurgeonFormats", "CHDF5"]),
        // ONNX files; Generated/onnx.pb.swift is protoc output, committed (Generated/README.md).
        .target(
            name: "SurgeonONNX",
            dependencies: [
                "SurgeonCore", "SurgeonFormats", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Generated/onnx.proto", "Generated/README.md"]
        ),
        .target(name: "SurgeonStrategies", dependencies: ["SurgeonCore"]),
        .target(
            name: "SurgeonPipeline",
            dependencies: [
                "SurgeonCore", "Layers", "SurgeonFormats", "SurgeonStrategies",
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("Resources/mnist-5k")]
        ),
        .target(
            name: "SurgeonCLI",
            dependencies: [
                "SurgeonPipeline", "SurgeonKeras", "SurgeonONNX", "SurgeonFormats", "SurgeonStrategies", "Layers",
                "SurgeonCore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "surgeon", dependencies: ["SurgeonCLI"]),
        // One entry per parser, fed bytes from memory; Fuzz/ wraps each in a libFuzzer target.
        .target(
            name: "SurgeonFuzzEntries",
            dependencies: ["SurgeonFormats", "SurgeonKeras", "SurgeonONNX", "SurgeonPipeline", "Layers", "SurgeonCore"]
        ),
        .executableTarget(
            name: "surgeon-bench",
            dependencies: [
                "SurgeonCLI", "SurgeonPipeline", "SurgeonKeras", "SurgeonFormats", "SurgeonStrategies", "Layers",
                "SurgeonCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "surgeon-scaffold",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .plugin(
            name: "NewLayerRule",
            capability: .command(
                intent: .custom(
                    verb: "new-layer-rule", description: "Generate a new layer type with its surgery rule and test"),
                permissions: [
                    .writeToPackageDirectory(
                        reason: "writes Sources/Layers/NAME.swift and Tests/LayersTests/NAMETests.swift")
                ]
            ),
            dependencies: ["surgeon-scaffold"]
        ),
        // Test helpers that need only the core (tolerances, gradient check, pruning equivalence);
        // SurgeonTestSupport re-exports them and adds the ones built on Layers.
        .target(name: "SurgeonCoreTestSupport", dependencies: ["SurgeonCore"]),
        .target(
            name: "SurgeonTestSupport",
            dependencies: ["SurgeonCoreTestSupport", "SurgeonCore", "Layers", "SurgeonStrategies"]),
        // The core tested with test-only layers (Tests/SurgeonCoreTests/TestLayers): no Layers, no formats.
        .testTarget(name: "SurgeonCoreTests", dependencies: ["SurgeonCore", "SurgeonCoreTestSupport"]),
        .testTarget(
            name: "LayersTests", dependencies: ["Layers", "SurgeonCore", "SurgeonFormats", "SurgeonTestSupport"]),
        .testTarget(
            name: "SurgeonFormatsTests",
            dependencies: ["SurgeonFormats", "SurgeonCore", "Layers", "SurgeonTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "SurgeonKerasTests",
            dependencies: ["SurgeonKeras", "SurgeonFormats", "SurgeonCore", "Layers", "SurgeonTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "SurgeonONNXTests",
            dependencies: ["SurgeonONNX", "SurgeonFormats", "SurgeonCore", "Layers", "SurgeonTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "SurgeonStrategiesTests",
            dependencies: ["SurgeonStrategies", "SurgeonCore", "Layers", "SurgeonTestSupport"]
        ),
        .testTarget(
            name: "SurgeonPipelineTests",
            dependencies: [
                "SurgeonPipeline", "SurgeonStrategies", "SurgeonFormats", "Layers", "SurgeonCore", "SurgeonTestSupport",
            ]
        ),
        .testTarget(name: "SurgeonFuzzEntriesTests", dependencies: ["SurgeonFuzzEntries", "SurgeonPipeline"]),
        .testTarget(
            name: "SurgeonCLITests",
            dependencies: [
                "SurgeonCLI", "surgeon", "surgeon-scaffold", "SurgeonFormats", "SurgeonCore", "SurgeonTestSupport",
            ],
            exclude: ["Golden"]
        ),
    ]
)
