"""The fixture models that both make_fixtures.py (Keras 3) and make_fixtures_keras2.py
(tf.keras 2.15) save, written once for both: each takes the caller's `keras` module."""

import numpy as np


def make_input(shape, value_range, seed):
    """A fixed random batch of 2 for a model with input shape `shape`, uniform in `value_range`."""
    rng = np.random.default_rng(seed)
    lo, hi = value_range
    return rng.uniform(lo, hi, (2,) + tuple(shape[1:])).astype("float32")


def mobilenetv2_narrow(keras):
    return keras.applications.MobileNetV2(
        input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=10
    ), (-1.0, 1.0)


def se_block(keras, rng):
    """EfficientNet-style MBConv with squeeze-excite, plus two heads concatenated.

    The heads: GAP(keepdims=False) -> Dense(10), and the MobileNet-v1 head GAP(keepdims=True) ->
    Conv2D 1x1 (10) -> Reshape((10,)) -> softmax. The model output is their concatenation, (N, 20).
    """
    layers = keras.layers
    inp = keras.Input((16, 16, 3), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inp)
    norm = layers.Normalization(axis=-1, name="norm")
    norm.adapt(rng.uniform(0.0, 1.0, (20, 16, 16, 3)).astype("float32") * [0.8, 0.6, 1.0] + [0.1, 0.2, 0.0])
    x = norm(x)
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    stem = layers.Activation("swish", name="stem_act")(x)
    # MBConv: expand, depthwise, SE, project, dropout, residual
    x = layers.Conv2D(32, 1, padding="same", activation="swish", name="expand_conv")(stem)
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dwconv")(x)
    x = layers.BatchNormalization(name="dw_bn")(x)
    x = layers.Activation("swish", name="dw_act")(x)
    se = layers.GlobalAveragePooling2D(name="se_squeeze")(x)
    se = layers.Reshape((1, 1, 32), name="se_reshape")(se)
    se = layers.Conv2D(8, 1, padding="same", activation="swish", name="se_reduce")(se)
    se = layers.Conv2D(32, 1, padding="same", activation="sigmoid", name="se_expand")(se)
    x = layers.Multiply(name="se_excite")([x, se])
    x = layers.Conv2D(16, 1, padding="same", use_bias=False, name="project_conv")(x)
    x = layers.BatchNormalization(name="project_bn")(x)
    x = layers.Dropout(0.2, noise_shape=(None, 1, 1, 1), name="drop")(x)
    x = layers.Add(name="residual")([x, stem])
    # head 1: EfficientNet
    h1 = layers.GlobalAveragePooling2D(keepdims=False, name="gap")(x)
    h1 = layers.Dense(10, name="fc")(h1)
    # head 2: MobileNet v1
    h2 = layers.GlobalAveragePooling2D(keepdims=True, name="gap_keep")(x)
    h2 = layers.Conv2D(10, 1, padding="same", name="conv_preds")(h2)
    h2 = layers.Reshape((10,), name="reshape_2")(h2)
    h2 = layers.Activation("softmax", name="predictions")(h2)
    out = layers.Concatenate(name="heads")([h1, h2])
    return keras.Model(inp, out, name="se_block"), (0.0, 255.0)


def separable_block(keras):
    """Separable convs, (P)ReLU variants, NASNet crop, pooling and every merge layer."""
    layers = keras.layers
    inp = keras.Input((12, 12, 4), name="image")
    s1 = layers.SeparableConv2D(8, 3, padding="same", depth_multiplier=2, name="sep1")(inp)
    # The slope is positional: Keras 3 calls it `negative_slope`, Keras 2 `alpha`.
    a1 = layers.LeakyReLU(0.2, name="leaky")(s1)
    s2 = layers.SeparableConv2D(
        8, 3, padding="same", depth_multiplier=2, use_bias=False, name="sep2_nobias"
    )(a1)
    s2 = layers.BatchNormalization(name="sep2_bn")(s2)
    p1 = layers.PReLU(shared_axes=[1, 2], name="prelu_shared")(s2)
    # NASNet-style one-pixel shift: pad bottom/right, crop top/left
    z = layers.ZeroPadding2D(((0, 1), (0, 1)), name="shift_pad")(p1)
    c = layers.Cropping2D(((1, 0), (1, 0)), name="shift_crop")(z)
    ap = layers.AveragePooling2D(3, strides=1, padding="same", name="avg_same")(p1)
    mp = layers.MaxPooling2D(3, strides=1, padding="same", name="max_same")(c)
    avg = layers.Average(name="average")([ap, mp])
    mx = layers.Maximum(name="maximum")([ap, c])
    sub = layers.Subtract(name="subtract")([mx, avg])
    add = layers.Add(name="add")([sub, p1])
    r6 = layers.ReLU(max_value=6.0, name="relu6")(add)
    cat = layers.Concatenate(name="concat")([r6, c, s1])
    p2 = layers.PReLU(name="prelu_full")(cat)
    x = layers.ZeroPadding2D(((1, 0), (0, 1)), name="pad_asym")(p2)  # 13x13
    x = layers.MaxPooling2D(2, strides=2, padding="same", name="max_s2_same")(x)  # 7x7
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(5, name="fc")(x)
    return keras.Model(inp, out, name="separable_block"), (-1.0, 1.0)
