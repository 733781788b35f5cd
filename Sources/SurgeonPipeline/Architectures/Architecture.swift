import Layers
import SurgeonCore

/// The knobs every built-in architecture takes.
public struct ArchitectureOptions: Sendable, Equatable {
    /// The per-sample input shape `[height, width, channels]`.
    public var inputShape: Shape
    public var classes: Int
    /// Scales every layer's channel count (MobileNet's alpha), rounded to a multiple of 8.
    public var width: Double
    /// Seeds the initial weights.
    public var seed: UInt64

    public init(inputShape: Shape, classes: Int, width: Double = 1.0, seed: UInt64 = 0) {
        self.inputShape = inputShape
        self.classes = classes
        self.width = width
        self.seed = seed
    }

    /// MobileNetV2's channel rounding: the nearest multiple of 8 (at least 8) that loses no
    /// more than 10% of `value * width`.
    public func channels(_ value: Int, divisor: Int = 8) -> Int {
        let v = Double(value) * width
        var rounded = max(divisor, Int(v + Double(divisor) / 2) / divisor * divisor)
        if Double(rounded) < 0.9 * v { rounded += divisor }
        return rounded
    }

    /// Refuses options no architecture builds with (an input shape that is not three positive
    /// sizes, fewer than 2 classes, a width outside (0, 4]); `name` goes in the message.
    public func validate(for name: String) throws(ArchitectureError) {
        guard inputShape.count == 3, inputShape.allSatisfy(SettingLimits.inputExtent.contains) else {
            throw .invalidOption(
                architecture: name,
                message: "the input shape must be height,width,channels with sizes in 1...65536, got \(inputShape)")
        }
        guard SettingLimits.classes.contains(classes) else {
            throw .invalidOption(
                architecture: name, message: "a classifier needs 2...1000000 classes, got \(classes)")
        }
        guard width > 0, width <= 4 else {
            throw .invalidOption(architecture: name, message: "the width multiplier must be in (0, 4], got \(width)")
        }
    }
}

/// A model family that can be built from `ArchitectureOptions`.
public protocol Architecture: Sendable {
    /// The name used by `surgeon new` (`mobilenetv2`, `res`, `vgg`, `resnet50`).
    var name: String { get }
    /// One line for `--help`.
    var summary: String { get }
    func build(_ options: ArchitectureOptions) throws -> Graph
}

/// Architectures by name; copy `standard` and register your own.
public struct ArchitectureRegistry: Sendable {
    private var items: [String: any Architecture] = [:]
    private var order: [String] = []

    public init() {}

    public mutating func register(_ architecture: any Architecture) throws(RegistryError) {
        guard items[architecture.name] == nil else { throw .duplicate(kind: "architecture", name: architecture.name) }
        items[architecture.name] = architecture
        order.append(architecture.name)
    }

    public var names: [String] { order }

    public func architecture(named name: String) throws(RegistryError) -> any Architecture {
        guard let a = items[name] else { throw .unknown(kind: "architecture", name: name, accepted: order) }
        return a
    }

    /// The built-in architectures: the origin write-up's three variants and ResNet-50.
    public static let standard: ArchitectureRegistry = {
        var registry = ArchitectureRegistry()
        do { try registry.registerBuiltins() } catch {
            // Only a programming error in `registerBuiltins` gets here (the tests build `standard`).
            preconditionFailure("the built-in architectures: \(error)")
        }
        return registry
    }()

    /// Registers the built-in architectures; one that is already registered is an error (as it
    /// is for `standard` itself).
    public mutating func registerBuiltins() throws(RegistryError) {
        for a: any Architecture in [
            MobileNetV2Architecture(), SmallConvNetArchitecture(residual: true),
            SmallConvNetArchitecture(residual: false), ResNet50Architecture(),
        ] {
            try register(a)
        }
    }
}

/// Options an architecture cannot build with.
public enum ArchitectureError: Error, Equatable, CustomStringConvertible {
    case invalidOption(architecture: String, message: String)

    public var description: String {
        switch self {
        case let .invalidOption(architecture, message): return "\(architecture): \(message)"
        }
    }
}
