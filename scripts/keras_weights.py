"""Random but sane weights for the Keras models that surgeon's check scripts save.

Shared by scripts/keras_applications.py and Tests/SurgeonKerasTests/Fixtures/keras/
make_fixtures.py / make_fixtures_keras2.py. Works with Keras 3 (`import keras`) and Keras 2
(`tf.keras`): the caller passes its `keras` module.

Kernels keep their (seeded) random initial values; BN gamma ~ U(0.5, 1.5), beta ~ N(0, 0.2);
biases ~ N(0, 0.1); PReLU alpha ~ U(0.05, 0.4). BN moving statistics are first set to the batch
statistics of one training-mode pass over a calibration batch (momentum 0 for that pass), so deep
models keep sane activations, and then perturbed: mean + N(0, 0.2·std), variance · U(0.5, 1.5).
"""

import numpy as np


def all_layers(model, keras):
    """Every layer of `model`, nested models' layers included, in `model.layers` order."""
    out = []
    for layer in model.layers:
        out.append(layer)
        if isinstance(layer, keras.Model):
            out.extend(all_layers(layer, keras))
    return out


def variable_name(v):
    """`gamma` (Keras 3) or `stem_bn/gamma:0` (Keras 2) -> `gamma`."""
    return v.name.split("/")[-1].split(":")[0]


def to_numpy(v, keras):
    return keras.ops.convert_to_numpy(v) if hasattr(keras, "ops") else v.numpy()


def randomise_weights(model, rng, calibration, keras):
    """Gives every constant-initialised variable a random value (see the module's doc)."""
    bns = [l for l in all_layers(model, keras) if isinstance(l, keras.layers.BatchNormalization)]
    draws = {
        "gamma": lambda shape: rng.uniform(0.5, 1.5, shape),
        "beta": lambda shape: rng.normal(0.0, 0.2, shape),
        "bias": lambda shape: rng.normal(0.0, 0.1, shape),
        "alpha": lambda shape: rng.uniform(0.05, 0.4, shape),
    }
    for layer in all_layers(model, keras):
        for v in layer.weights:
            draw = draws.get(variable_name(v))
            if draw is not None:
                v.assign(draw(tuple(v.shape)).astype("float32"))
    if bns:
        saved = [bn.momentum for bn in bns]
        for bn in bns:
            bn.momentum = 0.0
        model(calibration, training=True)
        for bn, m in zip(bns, saved):
            bn.momentum = m
    for bn in bns:
        mean = to_numpy(bn.moving_mean, keras)
        var = to_numpy(bn.moving_variance, keras) + 1e-3
        bn.moving_mean.assign((mean + rng.normal(0.0, 0.2, mean.shape) * np.sqrt(var)).astype("float32"))
        bn.moving_variance.assign((var * rng.uniform(0.5, 1.5, var.shape)).astype("float32"))


def check_no_constant_weights(model, keras):
    """Stops the script when a variable (other than a Normalization count) is still constant."""
    for layer in all_layers(model, keras):
        for v in layer.weights:
            a = to_numpy(v, keras)
            if a.size > 1 and np.all(a == a.flat[0]) and variable_name(v) != "count":
                raise SystemExit(f"{layer.name}/{v.name} is constant ({a.flat[0]})")


def temper_softmax_head(model, x, keras, target_std=1.5):
    """Scales a final Dense(softmax) so that its logits on `x` have standard deviation
    `target_std`: a saturated (one-hot) softmax would hide wrong weights upstream."""
    head = model.layers[-1]
    if not isinstance(head, keras.layers.Dense) or head.get_config()["activation"] != "softmax":
        return
    features = keras.Model(model.inputs, head.input).predict(x, verbose=0)
    kernel, bias = to_numpy(head.kernel, keras), to_numpy(head.bias, keras)
    scale = target_std / float(np.std(features @ kernel + bias))
    head.kernel.assign((kernel * scale).astype("float32"))
    head.bias.assign((bias * scale).astype("float32"))
