"""Makes channel_gate.keras: a Keras 3 model with a custom registered layer class.

ChannelGate multiplies channel c by a learned scale[c] (weight "scale", shape [C]): the same math
as the layer that `swift package new-layer-rule --kind per-channel --name ChannelGate` and
`surgeon-scaffold package` generate, so surgeon reads this file once a Swift type named
ChannelGate is registered (an extension package, or a built-in added with the plugin).

    python3 -m venv /work/venv-keras && /work/venv-keras/bin/pip install keras==3.15.1 "jax[cpu]" h5py numpy
    KERAS_BACKEND=jax /work/venv-keras/bin/python make_custom_fixture.py   # run in this folder

Writes channel_gate.keras, channel_gate.input.npy (4 samples, 8x8x3) and channel_gate.output.npy
(Keras's predictions for them).
"""
import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
from keras import layers  # noqa: E402


@keras.saving.register_keras_serializable(package="surgeon_example")
class ChannelGate(layers.Layer):
    """y[..., c] = x[..., c] * scale[c]."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.scale


def main():
    rng = np.random.default_rng(7)
    keras.utils.set_random_seed(7)
    inp = keras.Input((8, 8, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inp)
    x = ChannelGate(name="gate")(x)
    x = layers.Conv2D(6, 1, name="conv2")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(4, name="head")(x)
    model = keras.Model(inp, out, name="gated")
    gate = model.get_layer("gate")
    gate.scale.assign(rng.uniform(0.0, 1.5, size=(8,)).astype("float32"))
    here = os.path.dirname(os.path.abspath(__file__))
    model.save(os.path.join(here, "channel_gate.keras"))
    x_in = rng.uniform(-1.0, 1.0, size=(4, 8, 8, 3)).astype("float32")
    np.save(os.path.join(here, "channel_gate.input.npy"), x_in)
    np.save(os.path.join(here, "channel_gate.output.npy"), np.asarray(model.predict(x_in, verbose=0), dtype="float32"))


if __name__ == "__main__":
    main()
