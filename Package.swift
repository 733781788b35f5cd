// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "surgeon",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "surgeon", targets: ["surgeon"]),
        .executable(name: "surgeon-bench", targets: ["surgeon-bench"]),
        .library(name: "SurgeonCore", targets: ["SurgeonCore"]),
        .library(name: "Layers", targets: ["Layers"]),
        .library(name: "SurgeonPlugins", targets: ["SurgeonPlugins"]),
        .library(name: "SurgeonKeras", targets: ["SurgeonKeras"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(
            name: "CHDF5",
            pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"]), .brew(["hdf5"])]
        ),
        .target(
            name: "SurgeonCore",
            dependencies: [
                "COpenBLAS", "CMalloc",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .target(name: "Layers", dependencies: ["SurgeonCore"]),
        .target(
            name: "SurgeonKeras",
            dependencies: ["SurgeonCore", "CHDF5", .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        .target(
            name: "SurgeonPlugins",
            dependencies: ["Layers", "SurgeonCore", .product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "surgeon",
            dependencies: [
                "SurgeonPlugins", "Layers", "SurgeonCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Resources/mnist-5k")]
        ),
        .executableTarget(
            name: "surgeon-bench",
            dependencies: [
                "SurgeonPlugins", "Layers", "SurgeonCore",
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
                intent: .custom(verb: "new-layer-rule", description: "Generate a new layer type with its surgery rule and test"),
                permissions: [.writeToPackageDirectory(reason: "writes Sources/Layers/NAME.swift and Tests/LayersTests/NAMETests.swift")]
            ),
            dependencies: ["surgeon-scaffold"]
        ),
        .target(name: "SurgeonTestSupport", dependencies: ["SurgeonCore", "Layers"]),
        .testTarget(
            name: "SurgeonCoreTests", dependencies: ["SurgeonCore", "Layers", "SurgeonTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "LayersTests", dependencies: ["Layers", "SurgeonCore", "SurgeonTestSupport"]),
        .testTarget(
            name: "SurgeonKerasTests",
            dependencies: ["SurgeonKeras", "SurgeonCore", "Layers", "SurgeonTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "SurgeonPluginsTests",
            dependencies: ["SurgeonPlugins", "Layers", "SurgeonCore", "SurgeonTestSupport"]
        ),
        .testTarget(
            name: "SurgeonCLITests",
            dependencies: ["surgeon", "surgeon-scaffold", "SurgeonCore", "SurgeonTestSupport"]
        ),
    ]
)
