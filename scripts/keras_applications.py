"""Saves full-size Keras application models with random weights, for by-hand checks of surgeon's
Keras reader/writer on real architectures (too big to commit).

    KERAS_BACKEND=torch /work/venv-bench/bin/python scripts/keras_applications.py [OUT] [--only NAME ...]

OUT defaults to /tmp/keras-apps. Keras 3.15 refuses to build NASNetMobile with the torch backend
("not available with the torch backend at this time due to an outstanding bug"); make that one
with `KERAS_BACKEND=jax ... --only NASNetMobile` (jax[cpu] is in scripts/keras-requirements.txt).
The saved file does not depend on the backend.

For each model (weights=None, default input size, 1000 classes) it writes `<Name>.keras`, `<Name>.input.npy` (batch 1, fixed seed, U(0, 255) for EfficientNetB0,
U(-1, 1) otherwise) and `<Name>.output.npy` (`model(x, training=False)`, float32), and prints one
JSON line per model (sizes, times, largest output).

Weights: kernels keep their seeded random initial values; BN gamma ~ U(0.5, 1.5), beta ~ N(0, 0.2);
BN moving statistics = the batch statistics of one training-mode pass over a calibration batch
(momentum 0 for that pass), then mean + N(0, 0.2·std), variance × U(0.5, 1.5); biases ~ N(0, 0.1);
an unadapted Normalization (EfficientNet) gets the ImageNet mean/variance. The classifier is
rescaled so its logits have standard deviation 1.5 on the calibration batch (an unsaturated
softmax). The weight treatment is scripts/keras_weights.py, shared with the fixture scripts.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402
from keras_weights import all_layers, randomise_weights  # noqa: E402

SEED = 2024
APPS = ["MobileNet", "MobileNetV2", "ResNet50", "VGG16", "DenseNet121", "EfficientNetB0",
        "Xception", "NASNetMobile"]


def set_imagenet_normalization(model):
    """Gives an unadapted Normalization layer with 3 channels (EfficientNet's) the ImageNet
    mean and variance."""
    for layer in all_layers(model, keras):
        if isinstance(layer, layers.Normalization) and layer.weights and tuple(layer.adapt_mean.shape) == (3,):
            layer.adapt_mean.assign(np.array([0.485, 0.456, 0.406], "float32"))
            layer.adapt_variance.assign(np.array([0.229, 0.224, 0.225], "float32") ** 2)
            layer.finalize_state()


def temper_classifier(model, x, target_std=1.5):
    """Scales the last layer with a kernel (Dense, or MobileNet's 1x1 `conv_preds`) so that the
    logits before the final softmax have standard deviation `target_std` on `x`."""
    weighted = [l for l in model.layers if hasattr(l, "kernel")]
    if not weighted:
        return
    head = weighted[-1]
    kernel = keras.ops.convert_to_numpy(head.kernel)
    bias = keras.ops.convert_to_numpy(head.bias) if head.use_bias else 0.0
    if head is model.layers[-1]:
        # Dense with a softmax: logits = features · W + b
        features = keras.Model(model.inputs, head.input).predict(x, verbose=0)
        logits = features.reshape(-1, kernel.shape[0]) @ kernel + bias
    else:
        logits = keras.Model(model.inputs, head.output).predict(x, verbose=0)
    scale = target_std / float(np.std(logits))
    head.kernel.assign((kernel * scale).astype("float32"))
    if head.use_bias:
        head.bias.assign((bias * scale).astype("float32"))


def build(name):
    return getattr(keras.applications, name)(weights=None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="/tmp/keras-apps")
    ap.add_argument("--only", nargs="*", choices=APPS, help="a subset of the models")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    failed = []
    for i, name in enumerate(args.only or APPS):
        t0 = time.perf_counter()
        keras.utils.set_random_seed(SEED + i)
        rng = np.random.default_rng(SEED + i)
        try:
            model = build(name)
        except ValueError as e:  # NASNetMobile refuses the torch backend in Keras 3.15
            print(json.dumps({"model": name, "backend": keras.backend.backend(), "error": str(e)}), flush=True)
            failed.append(name)
            continue
        t_build = time.perf_counter() - t0
        shape = (1,) + tuple(model.input_shape[1:])
        lo, hi = (0.0, 255.0) if name.startswith("EfficientNet") else (-1.0, 1.0)
        x = np.random.default_rng(SEED + 100 + i).uniform(lo, hi, shape).astype("float32")
        calib = np.random.default_rng(SEED + 200 + i).uniform(lo, hi, (2,) + shape[1:]).astype("float32")
        t1 = time.perf_counter()
        set_imagenet_normalization(model)
        randomise_weights(model, rng, calib, keras)
        temper_classifier(model, calib)
        t_rand = time.perf_counter() - t1
        t2 = time.perf_counter()
        y = np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), dtype="float32")
        t_predict = time.perf_counter() - t2
        path = os.path.join(args.out, f"{name}.keras")
        t3 = time.perf_counter()
        model.save(path)
        t_save = time.perf_counter() - t3
        np.save(os.path.join(args.out, f"{name}.input.npy"), x)
        np.save(os.path.join(args.out, f"{name}.output.npy"), y)
        print(json.dumps({
            "model": name, "backend": keras.backend.backend(), "layers": len(model.layers), "params": int(model.count_params()),
            "input_shape": list(x.shape), "input_range": [lo, hi], "output_shape": list(y.shape),
            "max_abs_output": float(np.max(np.abs(y))), "top1_prob": float(np.max(y)),
            "finite": bool(np.all(np.isfinite(y))), "keras_bytes": os.path.getsize(path),
            "seconds": {"build": round(t_build, 2), "randomise": round(t_rand, 2),
                        "predict": round(t_predict, 2), "save": round(t_save, 2),
                        "total": round(time.perf_counter() - t0, 2)},
        }), flush=True)
        del model
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
