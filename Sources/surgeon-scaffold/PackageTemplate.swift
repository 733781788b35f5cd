/// The files of an extension package (`surgeon-scaffold package`): a module with a layer type,
/// a criterion and an architecture registered on copies of surgeon's registries, an executable
/// of a few lines that is a complete `surgeon` with them, and tests that run surgeon's generic
/// checkers on them. The generated package builds and passes its tests as generated.
struct PackageTemplate {
    var module: String
    var executable: String
    var surgeonPath: String

    /// "GatedSurgeon" -> "gated-surgeon".
    static func kebab(_ name: String) -> String {
        var out = ""
        for (i, ch) in name.enumerated() {
            if ch.isUppercase, i > 0 { out.append("-") }
            out.append(Character(ch.lowercased()))
        }
        return out
    }

    /// SwiftPM's identity of a package depended on by path: its folder's name, lower-cased.
    var surgeonIdentity: String { (surgeonPath.split(separator: "/").last.map(String.init) ?? "surgeon").lowercased() }

    var files: [(path: String, text: String)] {
        [
            ("Package.swift", packageManifest),
            (".gitignore", ".build/\nPackage.resolved\n.swiftpm/\n"),
            ("README.md", readme),
            ("Sources/\(module)/ChannelGate.swift", LayerTemplate.source(name: "ChannelGate", kind: .perChannel)),
            ("Sources/\(module)/MaxAbsCriterion.swift", criterion),
            ("Sources/\(module)/MinPolicy.swift", policy),
            ("Sources/\(module)/L2ScaleRegularizer.swift", regularizer),
            ("Sources/\(module)/GatedNetArchitecture.swift", architecture),
            ("Sources/\(module)/Registries+\(module).swift", registries),
            ("Sources/\(executable)/main.swift", main),
            ("Tests/\(module)Tests/ChannelGateTests.swift", LayerTemplate.test(name: "ChannelGate", module: module)),
            ("Tests/\(module)Tests/\(module)Tests.swift", tests),
        ]
    }

    var packageManifest: String {
        """
        // swift-tools-version:6.0
        import PackageDescription

        // A surgeon with extensions: \(module) registers a layer type, a criterion and an architecture;
        // `\(executable)` is every surgeon command with them built in.
        let package = Package(
            name: "\(executable)",
            platforms: [.macOS(.v15)],
            dependencies: [.package(path: "\(surgeonPath)")],
            targets: [
                .target(name: "\(module)", dependencies: [
                    .product(name: "SurgeonCore", package: "\(surgeonIdentity)"),
                    .product(name: "Layers", package: "\(surgeonIdentity)"),
                    .product(name: "SurgeonStrategies", package: "\(surgeonIdentity)"),
                    .product(name: "SurgeonPipeline", package: "\(surgeonIdentity)"),
                    .product(name: "SurgeonCLI", package: "\(surgeonIdentity)"),
                ]),
                .executableTarget(name: "\(executable)", dependencies: [
                    "\(module)", .product(name: "SurgeonCLI", package: "\(surgeonIdentity)"),
                ]),
                .testTarget(name: "\(module)Tests", dependencies: [
                    "\(module)", .product(name: "SurgeonTestSupport", package: "\(surgeonIdentity)"),
                    .product(name: "SurgeonCore", package: "\(surgeonIdentity)"),
                    .product(name: "SurgeonStrategies", package: "\(surgeonIdentity)"),
                    .product(name: "SurgeonPipeline", package: "\(surgeonIdentity)"),
                ]),
            ]
        )

        """
    }

    var main: String {
        """
        import Foundation
        import SurgeonCLI
        import \(module)

        // surgeon with \(module)'s layer type, criterion and architecture.
        do {
            SurgeonCommand.main(registries: try .with\(module)())
        } catch {
            FileHandle.standardError.write(Data("\(executable): \\(error)\\n".utf8))
            exit(1)
        }

        """
    }

    var registries: String {
        """
        import SurgeonCLI
        import SurgeonPipeline

        extension Registries {
            /// surgeon's built-in registries with this package's extensions: the ChannelGate layer type
            /// (reading, computing and surgery), the max-abs criterion, the min policy, the l2-scale
            /// regulariser and the gated-net architecture.
            public static func with\(module)() throws -> Registries {
                var registries = Registries.standard
                try registries.layers.register(ChannelGate.self)
                try registries.strategies.register(criterion: MaxAbsCriterion())
                try registries.strategies.register(policy: MinPolicy())
                try registries.strategies.register(L2ScaleRegularizer.entry)
                try registries.architectures.register(GatedNetArchitecture())
                return registries
            }
        }

        """
    }

    var criterion: String {
        """
        import SurgeonCore
        import SurgeonStrategies

        /// `max-abs`: the largest |w| of each producer's filter (the L-infinity norm), for every
        /// layer type that declares where its filters are (`SurgeryRule.weightChannelAxes`).
        public struct MaxAbsCriterion: ImportanceCriterion {
            public init() {}
            public var name: String { "max-abs" }
            public var summary: String { "the largest |w| of each producer's filter (an example criterion)" }

            public func scores(_ context: ScoringContext) throws -> [[MemberScores]] {
                var result = [[MemberScores]](repeating: [], count: context.analysis.groups.count)
                let slices = ChannelSlices(graph: context.graph, analysis: context.analysis, surgeon: context.surgeon)
                for slice in slices.slices where slice.isOutput {
                    let w = context.graph.nodes[slice.node].layer.weights[slice.weight]
                    guard w.rank >= 2 else { continue }
                    var largest = [Float](repeating: 0, count: w.shape[slice.axis])
                    ChannelSlices.forEachElement(shape: w.shape, axis: slice.axis) { c, e in largest[c] = \
                    max(largest[c], abs(w.scalars[e])) }
                    var perGroup: [Int: [Float]] = [:]
                    for (c, channel) in slice.channels.enumerated() where c < largest.count {
                        var scores = perGroup[channel.group] ?? [Float](repeating: 0, count: \
                        context.analysis.groups[channel.group].size)
                        scores[channel.index] = max(scores[channel.index], largest[c])
                        perGroup[channel.group] = scores
                    }
                    let layer = context.graph.nodes[slice.node].name
                    for (group, scores) in perGroup.sorted(by: { $0.key < $1.key }) {
                        result[group].append(MemberScores(layer: layer, scores: scores))
                    }
                }
                return result
            }
        }

        """
    }

    var policy: String {
        """
        import SurgeonStrategies

        /// `min`: a channel is as important as its least important member says (the opposite of
        /// `max`): delete the channels whose worst score among the group's members is lowest.
        public struct MinPolicy: GroupPolicy {
            public init() {}
            public var name: String { "min" }
            public var summary: String { "delete the channels whose worst score among the group's members is lowest \
            (an example policy)" }

            public func combinedScores(_ members: [MemberScores]) -> [Float] {
                guard let first = members.first else { return [] }
                return members.dropFirst().reduce(first.scores) { result, member in zip(result, member.scores).map { \
                min($0, $1) } }
            }
        }

        """
    }

    var regularizer: String {
        """
        import SurgeonCore
        import SurgeonStrategies

        /// `l2-scale`: lambda * sum scale^2 over every layer's per-channel scale (`channelScaleIndex`:
        /// BatchNorm's gamma, ChannelGate's scale); gradient 2 * lambda * scale.
        public struct L2ScaleRegularizer: Regularizer {
            public let lambda: Float
            public init(lambda: Float) { self.lambda = lambda }
            public var name: String { "l2-scale" }

            /// The registry entry (`--regularizer l2-scale`, with `--l1 LAMBDA` as its strength).
            public static let entry = RegularizerEntry(
                name: "l2-scale", summary: "L2 on every per-channel scale (BatchNorm gamma, ChannelGate scale) (an \
                example regulariser)"
            ) { _, lambda, _, _ in L2ScaleRegularizer(lambda: lambda) }

            public func apply(to graph: Graph, gradients: inout [[Tensor]]) -> Double {
                var penalty = 0.0
                for (i, node) in graph.nodes.enumerated() {
                    guard let k = node.layer.channelScaleIndex, k < node.layer.trainableWeightCount, k < \
                    gradients[i].count else { continue }
                    let w = node.layer.weights[k]
                    for j in 0..<w.count {
                        penalty += Double(lambda) * Double(w.scalars[j]) * Double(w.scalars[j])
                        gradients[i][k].scalars[j] += 2 * lambda * w.scalars[j]
                    }
                }
                return penalty
            }
        }

        """
    }

    var architecture: String {
        """
        import Layers
        import SurgeonCore
        import SurgeonPipeline

        /// `gated-net`: two conv-ReLU-ChannelGate blocks (the second with stride 2), global average
        /// pooling and a dense classifier.
        public struct GatedNetArchitecture: Architecture {
            public init() {}
            public var name: String { "gated-net" }
            public var summary: String { "two conv-ReLU-ChannelGate blocks, global average pooling, dense (an example \
            architecture)" }

            public func build(_ o: ArchitectureOptions) throws -> Graph {
                try o.validate(for: name)
                var b = GraphBuilder()
                var x = b.add(InputLayer(shape: o.inputShape), name: "input")
                for (k, filters) in [o.channels(16), o.channels(32)].enumerated() {
                    let stride = k == 0 ? 1 : 2
                    x = b.add(Conv2D(filters: filters, kernelSize: [3, 3], strides: [stride, stride], padding: .same, \
                    activation: .relu),
                              name: "conv\\(k + 1)", inputs: [x])
                    x = b.add(ChannelGate(), name: "gate\\(k + 1)", inputs: [x])
                }
                x = b.add(GlobalAveragePooling2D(), name: "gap", inputs: [x])
                x = b.add(Dense(units: o.classes), name: "logits", inputs: [x])
                return try b.build(outputs: [x], seed: o.seed)
            }
        }

        """
    }

    var tests: String {
        """
        import SurgeonCore
        import SurgeonPipeline
        import SurgeonStrategies
        import SurgeonTestSupport
        import XCTest
        @testable import \(module)

        final class \(module)Tests: XCTestCase {
            private func gatedNet() throws -> StrategyCheckModel {
                StrategyCheckModel("gated-net", try GatedNetArchitecture().build(ArchitectureOptions(inputShape: [12, \
                12, 1], classes: 3)))
            }

            func testRegistries_holdTheExtensions() throws {
                let registries = try Registries.with\(module)()
                XCTAssertTrue(registries.layers.hasSurgeryRule("ChannelGate"))
                XCTAssertTrue(registries.strategies.names(.criterion).contains("max-abs"))
                XCTAssertTrue(registries.strategies.names(.policy).contains("min"))
                XCTAssertTrue(registries.strategies.names(.regularizer).contains("l2-scale"))
                XCTAssertTrue(registries.architectures.names.contains("gated-net"))
            }

            func testMaxAbs_passesTheGenericCriterionChecker() throws {
                let registries = try Registries.with\(module)()
                try checkImportanceCriterion(MaxAbsCriterion(), models: [try gatedNet()] + (try \
                StrategyCheckModel.randomGraphs()),
                                             surgeon: registries.surgeon)
            }

            func testL2Scale_passesTheGenericRegularizerChecker() throws {
                try checkRegularizer("l2-scale", models: [try gatedNet()] + (try StrategyCheckModel.randomGraphs())) \
                { _ in
                    L2ScaleRegularizer(lambda: 0.1)
                }
            }

            func testMinPolicy_keepsTheWorstMemberScore() {
                let scores = MinPolicy().combinedScores([MemberScores(layer: "a", scores: [1, 5, 2]), \
                MemberScores(layer: "b", scores: [3, 4, 0])])
                XCTAssertEqual(scores, [1, 4, 0])
            }

            func testGatedNet_hasTwoPrunableGroupsAndPrunesExactly() throws {
                let registries = try Registries.with\(module)()
                let graph = try gatedNet().graph
                try graph.checkInvariants()
                let analysis = try registries.surgeon.analyze(graph)
                XCTAssertEqual(analysis.prunableGroups.count, 2)
            }
        }

        """
    }

    var readme: String {
        """
        # \(executable)

        surgeon with extensions, generated by `surgeon-scaffold package`: `Sources/\(module)` registers a
        layer type (`ChannelGate`: its math, surgery rule and examples in one file), a criterion (`max-abs`)
        and an architecture (`gated-net`) on copies of surgeon's registries (`Registries+\(module).swift`);
        `Sources/\(executable)/main.swift` is every surgeon command with them.

        ```sh
        swift build && swift test         # the tests run surgeon's generic checkers on the extensions
        .build/debug/\(executable) rules        # ChannelGate is listed
        .build/debug/\(executable) strategies   # max-abs is listed
        .build/debug/\(executable) new gated-net --input-shape 28,28,1 --classes 10 -o gated.keras
        .build/debug/\(executable) prune gated.keras --strategy max-abs --ratio 0.5 -o pruned.keras
        ```

        A Keras model whose custom class is registered in Python as `ChannelGate`
        (`@keras.saving.register_keras_serializable(...)`) loads with this binary, and a pruned `.keras`
        keeps the class's registered name, so Keras loads it back with the same Python class.

        """
    }
}
