import Layers
import SurgeonCore

/// The stage table shared by `mobilenetv2`, `res` and `vgg`: expansion t, channels c, repeats
/// n, first stride s (Sandler et al., "MobileNetV2", CVPR 2018, Table 2).
struct StagePlan {
    var expansion: Int, channels: Int, repeats: Int, stride: Int

    /// Inputs of at least 96 px get the paper's ImageNet table (stem stride 2, head 1280).
    /// Smaller inputs (MNIST, CIFAR) get a shortened table with a stride-1 stem, so that
    /// 28x28 images end at 7x7 rather than vanishing.
    static func plan(for input: Shape) -> (stemStride: Int, stages: [StagePlan], head: Int) {
        if min(input[0], input[1]) >= 96 {
            return (
                2,
                [
                    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                    (6, 320, 1, 1),
                ]
                .map { StagePlan(expansion: $0.0, channels: $0.1, repeats: $0.2, stride: $0.3) }, 1280
            )
        }
        return (
            1,
            [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 2, 1)]
                .map { StagePlan(expansion: $0.0, channels: $0.1, repeats: $0.2, stride: $0.3) }, 128
        )
    }
}

/// BatchNorm as the builders use it: epsilon 1e-3 and momentum 0.9, since Keras's 0.99 leaves
/// the moving statistics far off after a few hundred steps (DESIGN.md).
func builderBatchNorm() -> BatchNormalization { BatchNormalization(epsilon: 1e-3, momentum: 0.9) }

/// `mobilenetv2`: stem conv, inverted residual blocks (1x1 expand, 3x3 depthwise, 1x1 linear
/// project, shortcut Add when stride is 1 and channels match), 1x1 head conv, global average
/// pooling, softmax classifier. Layer names follow Keras's MobileNetV2.
public struct MobileNetV2Architecture: Architecture {
    public var name: String { "mobilenetv2" }
    public var summary: String {
        "inverted residual blocks: pointwise expand, depthwise 3x3, pointwise project, shortcut Add"
    }

    public init() {}

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
            name: "Conv1", inputs: [x])
        x = b.add(builderBatchNorm(), name: "bn_Conv1", inputs: [x])
        x = b.add(ReLU(maxValue: 6), name: "Conv1_relu", inputs: [x])
        var block = 0
        for stage in plan.stages {
            let out = o.channels(stage.channels)
            for r in 0..<stage.repeats {
                let stride = r == 0 ? stage.stride : 1
                let prefix = block == 0 ? "expanded_conv" : "block_\(block)"
                let input = x
                if stage.expansion != 1 {
                    x = b.add(
                        Conv2D(
                            filters: channels * stage.expansion, kernelSize: [1, 1], padding: .same, useBias: false),
                        name: "\(prefix)_expand", inputs: [x])
                    x = b.add(builderBatchNorm(), name: "\(prefix)_expand_BN", inputs: [x])
                    x = b.add(ReLU(maxValue: 6), name: "\(prefix)_expand_relu", inputs: [x])
                }
                x = b.add(
                    DepthwiseConv2D(kernelSize: [3, 3], strides: [stride, stride], padding: .same, useBias: false),
                    name: "\(prefix)_depthwise", inputs: [x])
                x = b.add(builderBatchNorm(), name: "\(prefix)_depthwise_BN", inputs: [x])
                x = b.add(ReLU(maxValue: 6), name: "\(prefix)_depthwise_relu", inputs: [x])
                x = b.add(
                    Conv2D(filters: out, kernelSize: [1, 1], padding: .same, useBias: false), name: "\(prefix)_project",
                    inputs: [x])
                x = b.add(builderBatchNorm(), name: "\(prefix)_project_BN", inputs: [x])
                if stride == 1, channels == out {
                    x = b.add(Add(), name: "\(prefix)_add", inputs: [input, x])
                }
                channels = out
                block += 1
            }
        }
        let head = plan.head == 1280 ? max(1280, o.channels(1280)) : o.channels(plan.head)
        x = b.add(Conv2D(filters: head, kernelSize: [1, 1], useBias: false), name: "Conv_1", inputs: [x])
        x = b.add(builderBatchNorm(), name: "Conv_1_bn", inputs: [x])
        x = b.add(ReLU(maxValue: 6), name: "out_relu", inputs: [x])
        x = b.add(GlobalAveragePooling2D(), name: "global_average_pooling2d", inputs: [x])
        x = b.add(Dense(units: o.classes, activation: .softmax), name: "predictions", inputs: [x])
        return try b.build(outputs: [x], seed: o.seed)
    }
}
