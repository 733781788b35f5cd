import XCTest

@testable import SurgeonKeras

/// Weight group names follow Keras's snake case of the class name and per-class counters in
/// `model.layers` order (KERAS-FORMAT 3.2, measured with Keras's own helper).
final class KerasWeightPathsTests: XCTestCase {
    func testSnakeCase_matchesKerasForEveryMeasuredClassName() {
        let expected = [
            "Conv2D": "conv2d", "Conv2DTranspose": "conv2d_transpose", "DepthwiseConv2D": "depthwise_conv2d",
            "SeparableConv2D": "separable_conv2d", "Conv1D": "conv1d", "Dense": "dense",
            "BatchNormalization": "batch_normalization", "LayerNormalization": "layer_normalization",
            "PReLU": "p_re_lu", "ReLU": "re_lu", "LeakyReLU": "leaky_re_lu", "ELU": "elu", "InputLayer": "input_layer",
            "ZeroPadding2D": "zero_padding2d", "Cropping2D": "cropping2d",
            "GlobalAveragePooling2D": "global_average_pooling2d",
            "MaxPooling2D": "max_pooling2d", "UpSampling2D": "up_sampling2d", "Normalization": "normalization",
            "Rescaling": "rescaling", "Concatenate": "concatenate", "Functional": "functional",
            "Sequential": "sequential",
            "EinsumDense": "einsum_dense",
        ]
        for (className, snake) in expected {
            XCTAssertEqual(KerasWeightPaths.snakeCase(className), snake, className)
        }
    }

    func testGroups_countPerClassInModelOrder() {
        let groups = KerasWeightPaths.groups(for: [
            ("img", "InputLayer"), ("a", "Conv2D"), ("bn", "BatchNormalization"), ("b", "Conv2D"), ("c", "Conv2D"),
        ])
        XCTAssertEqual(groups["img"], "layers/input_layer/vars")
        XCTAssertEqual(groups["a"], "layers/conv2d/vars")
        XCTAssertEqual(groups["bn"], "layers/batch_normalization/vars")
        XCTAssertEqual(groups["b"], "layers/conv2d_1/vars")
        XCTAssertEqual(groups["c"], "layers/conv2d_2/vars")
    }
}
