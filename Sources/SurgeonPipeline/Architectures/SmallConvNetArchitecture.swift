import Layers
import SurgeonCore

/// The origin write-up's two other variants of MobileNetV2: every pointwise-depthwise-pointwise
/// block replaced by one 3x3 convolution + BatchNorm; `res` keeps the shortcut Add (then ReLU,
/// as in ResNet), `vgg` drops it (a plain chain conv-BN-ReLU). Same stages, stem and head as
/// `mobilenetv2`.
public struct SmallConvNetArchitecture: Architecture {
    /// True for `res`, false for `vgg`.
    public let residual: Bool

    public init(residual: Bool) { self.residual = residual }

    public var name: String { residual ? "res" : "vgg" }
    public var summary: String {
        residual
            ? "mobilenetv2 with each block replaced by a 3x3 conv-BN, shortcut Add kept, then ReLU"
            : "mobilenetv2 with each block replaced by a 3x3 conv-BN-ReLU, no shortcuts (a plain chain)"
    }

    public func build(_ o: ArchitectureOptions) throws -> Graph {
        try o.validate(for: name)
        let plan = StagePlan.plan(for: o.inputShape)
        var b = GraphBuilder()
        var x = b.add(InputLayer(shape: o.inputShape), name: "input")
        var channels = o.channels(32)
        x = b.add(
            Conv2D(
                filters: channels, kernelSize: [3, 3], strides: [plan.stemStride, plan.stemStride], padding: .same,
                useBias: false),
            name: "stem_conv", inputs: [x])
        x = b.add(builderBatchNorm(), name: "stem_bn", inputs: [x])
        x = b.add(ReLU(), name: "stem_relu", inputs: [x])
        var block = 1
        for stage in plan.stages {
            let out = o.channels(stage.channels)
            for r in 0..<stage.repeats {
                let stride = r == 0 ? stage.stride : 1
                let input = x
                x = b.add(
                    Conv2D(
                        filters: out, kernelSize: [3, 3], strides: [stride, stride], padding: .same, useBias: false),
                    name: "block\(block)_conv", inputs: [x])
                x = b.add(builderBatchNorm(), name: "block\(block)_bn", inputs: [x])
                if residual, stride == 1, channels == out {
                    x = b.add(Add(), name: "block\(block)_add", inputs: [input, x])
                }
                x = b.add(ReLU(), name: "block\(block)_relu", inputs: [x])
                channels = out
                block += 1
            }
        }
        let head = plan.head == 1280 ? max(1280, o.channels(1280)) : o.channels(plan.head)
        x = b.add(Conv2D(filters: head, kernelSize: [1, 1], useBias: false), name: "head_conv", inputs: [x])
        x = b.add(builderBatchNorm(), name: "head_bn", inputs: [x])
        x = b.add(ReLU(), name: "head_relu", inputs: [x])
        x = b.add(GlobalAveragePooling2D(), name: "global_average_pooling2d", inputs: [x])
        x = b.add(Dense(units: o.classes, activation: .softmax), name: "predictions", inputs: [x])
        return try b.build(outputs: [x], seed: o.seed)
    }
}
