import Layers
import SurgeonCore

/// ResNet-50 v1 as in `keras.applications.ResNet50` (He et al., CVPR 2016): same layers, names
/// and parameter count (25,636,712 at 224x224x3 and 1,000 classes). Used to measure surgery at
/// scale; the width multiplier scales every stage.
public struct ResNet50Architecture: Architecture {
    public var name: String { "resnet50" }
    public var summary: String { "ResNet-50 v1 (Keras applications layout), bottleneck blocks with shortcut Adds" }

    public init() {}

    public func build(_ o: ArchitectureOptions) throws -> Graph {
        try o.validate(for: name)
        var b = GraphBuilder()
        func bn() -> BatchNormalization { BatchNormalization(epsilon: 1.001e-5, momentum: 0.99) }
        var x = b.add(InputLayer(shape: o.inputShape), name: "input")
        x = b.add(ZeroPadding2D(top: 3, bottom: 3, left: 3, right: 3), name: "conv1_pad", inputs: [x])
        x = b.add(
            Conv2D(filters: o.channels(64), kernelSize: [7, 7], strides: [2, 2]), name: "conv1_conv", inputs: [x])
        x = b.add(bn(), name: "conv1_bn", inputs: [x])
        x = b.add(Activation(.relu), name: "conv1_relu", inputs: [x])
        x = b.add(ZeroPadding2D(top: 1, bottom: 1, left: 1, right: 1), name: "pool1_pad", inputs: [x])
        x = b.add(MaxPooling2D(poolSize: [3, 3], strides: [2, 2]), name: "pool1_pool", inputs: [x])
        for (stage, (filters, blocks, stride)) in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)].enumerated() {
            let f = o.channels(filters)
            for k in 1...blocks {
                let name = "conv\(stage + 2)_block\(k)"
                let s = k == 1 ? stride : 1
                var shortcut = x
                if k == 1 {
                    shortcut = b.add(
                        Conv2D(filters: 4 * f, kernelSize: [1, 1], strides: [s, s]), name: "\(name)_0_conv", inputs: [x]
                    )
                    shortcut = b.add(bn(), name: "\(name)_0_bn", inputs: [shortcut])
                }
                var y = b.add(
                    Conv2D(filters: f, kernelSize: [1, 1], strides: [s, s]), name: "\(name)_1_conv", inputs: [x])
                y = b.add(bn(), name: "\(name)_1_bn", inputs: [y])
                y = b.add(Activation(.relu), name: "\(name)_1_relu", inputs: [y])
                y = b.add(Conv2D(filters: f, kernelSize: [3, 3], padding: .same), name: "\(name)_2_conv", inputs: [y])
                y = b.add(bn(), name: "\(name)_2_bn", inputs: [y])
                y = b.add(Activation(.relu), name: "\(name)_2_relu", inputs: [y])
                y = b.add(Conv2D(filters: 4 * f, kernelSize: [1, 1]), name: "\(name)_3_conv", inputs: [y])
                y = b.add(bn(), name: "\(name)_3_bn", inputs: [y])
                x = b.add(Add(), name: "\(name)_add", inputs: [shortcut, y])
                x = b.add(Activation(.relu), name: "\(name)_out", inputs: [x])
            }
        }
        x = b.add(GlobalAveragePooling2D(), name: "avg_pool", inputs: [x])
        x = b.add(Dense(units: o.classes, activation: .softmax), name: "predictions", inputs: [x])
        return try b.build(outputs: [x], seed: o.seed)
    }
}
