"""Writes the Keras 2 (tf.keras 2.15) fixtures of surgeon's Keras reader tests.

Run with the TensorFlow 2.15 virtualenv (see README.md in this folder):

    /work/venv-tf215/bin/python make_fixtures_keras2.py [--out DIR]

For each model it writes the legacy HDF5 file `<name>.k2.h5` (`model.save("x.h5")`), its input
`<name>.k2.input.npy` (a fixed random batch of 2, float32) and `<name>.k2.output.npy`
(`model.predict`, float32). The two small models are also saved in Keras 2.15's own `.keras`
format as `<name>.k2.keras`. It also writes `bad/truncated.h5`. It rewrites the section of
README.md between the `k2-fixtures` markers.

The models are the Keras 2 spelling of the Keras 3 ones in make_fixtures.py (LeakyReLU takes
`alpha` instead of `negative_slope`), with the same random-weight treatment.
"""

import argparse
import importlib.metadata
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

keras = tf.keras
layers = tf.keras.layers

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 4321


def all_layers(model):
    out = []
    for layer in model.layers:
        out.append(layer)
        if isinstance(layer, keras.Model):
            out.extend(all_layers(layer))
    return out


def base_name(v):
    """`stem_bn/gamma:0` -> `gamma`."""
    return v.name.split("/")[-1].split(":")[0]


def randomise_weights(model, rng, calibration):
    """Same treatment as make_fixtures.py: random BN gamma/beta, biases, PReLU alpha; BN moving
    statistics from one momentum-0 training pass over `calibration`, then perturbed."""
    bns = [l for l in all_layers(model) if isinstance(l, layers.BatchNormalization)]
    for layer in all_layers(model):
        for v in layer.weights:
            shape = tuple(v.shape)
            n = base_name(v)
            if n == "gamma":
                v.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
            elif n == "beta":
                v.assign(rng.normal(0.0, 0.2, shape).astype("float32"))
            elif n == "bias":
                v.assign(rng.normal(0.0, 0.1, shape).astype("float32"))
            elif n == "alpha":
                v.assign(rng.uniform(0.05, 0.4, shape).astype("float32"))
    saved = [bn.momentum for bn in bns]
    for bn in bns:
        bn.momentum = 0.0
    model(calibration, training=True)
    for bn, m in zip(bns, saved):
        bn.momentum = m
    for bn in bns:
        mean = bn.moving_mean.numpy()
        var = bn.moving_variance.numpy() + 1e-3
        bn.moving_mean.assign((mean + rng.normal(0.0, 0.2, mean.shape) * np.sqrt(var)).astype("float32"))
        bn.moving_variance.assign((var * rng.uniform(0.5, 1.5, var.shape)).astype("float32"))
    for layer in all_layers(model):
        for v in layer.weights:
            a = v.numpy()
            if a.size > 1 and np.all(a == a.flat[0]):
                raise SystemExit(f"{v.name} is constant ({a.flat[0]})")


def temper_softmax_head(model, x, target_std=1.5):
    """Scales a final Dense(softmax) so its logits on `x` have standard deviation `target_std`."""
    head = model.layers[-1]
    if not isinstance(head, layers.Dense) or head.get_config()["activation"] != "softmax":
        return
    features = keras.Model(model.inputs, head.input).predict(x, verbose=0)
    kernel, bias = head.kernel.numpy(), head.bias.numpy()
    scale = target_std / float(np.std(features @ kernel + bias))
    head.kernel.assign((kernel * scale).astype("float32"))
    head.bias.assign((bias * scale).astype("float32"))


def mobilenetv2_narrow(rng):
    return keras.applications.MobileNetV2(
        input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=10
    ), (-1.0, 1.0)


def se_block(rng):
    """As make_fixtures.se_block: MBConv with squeeze-excite and two concatenated heads."""
    inp = keras.Input((16, 16, 3), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inp)
    norm = layers.Normalization(axis=-1, name="norm")
    norm.adapt(rng.uniform(0.0, 1.0, (20, 16, 16, 3)).astype("float32") * [0.8, 0.6, 1.0] + [0.1, 0.2, 0.0])
    x = norm(x)
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    stem = layers.Activation("swish", name="stem_act")(x)
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
    h1 = layers.GlobalAveragePooling2D(keepdims=False, name="gap")(x)
    h1 = layers.Dense(10, name="fc")(h1)
    h2 = layers.GlobalAveragePooling2D(keepdims=True, name="gap_keep")(x)
    h2 = layers.Conv2D(10, 1, padding="same", name="conv_preds")(h2)
    h2 = layers.Reshape((10,), name="reshape_2")(h2)
    h2 = layers.Activation("softmax", name="predictions")(h2)
    out = layers.Concatenate(name="heads")([h1, h2])
    return keras.Model(inp, out, name="se_block"), (0.0, 255.0)


def separable_block(rng):
    """As make_fixtures.separable_block."""
    inp = keras.Input((12, 12, 4), name="image")
    s1 = layers.SeparableConv2D(8, 3, padding="same", depth_multiplier=2, name="sep1")(inp)
    a1 = layers.LeakyReLU(alpha=0.2, name="leaky")(s1)
    s2 = layers.SeparableConv2D(
        8, 3, padding="same", depth_multiplier=2, use_bias=False, name="sep2_nobias"
    )(a1)
    s2 = layers.BatchNormalization(name="sep2_bn")(s2)
    p1 = layers.PReLU(shared_axes=[1, 2], name="prelu_shared")(s2)
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
    x = layers.ZeroPadding2D(((1, 0), (0, 1)), name="pad_asym")(p2)
    x = layers.MaxPooling2D(2, strides=2, padding="same", name="max_s2_same")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(5, name="fc")(x)
    return keras.Model(inp, out, name="separable_block"), (-1.0, 1.0)


def make_input(shape, value_range, seed):
    rng = np.random.default_rng(seed)
    lo, hi = value_range
    return rng.uniform(lo, hi, (2,) + tuple(shape[1:])).astype("float32")


def h5_listing(path):
    """`layer: weight names` for every layer group with weights in a legacy .h5 file."""
    rows = []
    with h5py.File(path, "r") as f:
        mw = f["model_weights"]
        for name in mw.attrs["layer_names"]:
            name = name.decode() if isinstance(name, bytes) else name
            wn = mw[name].attrs.get("weight_names", [])
            if len(wn):
                wn = [w.decode() if isinstance(w, bytes) else w for w in wn]
                shapes = [f"{w} {mw[name][w].dtype}{list(mw[name][w].shape)}" for w in wn]
                rows.append(f"`{name}`: " + ", ".join(shapes))
    return rows


def rewrite_readme(section):
    path = os.path.join(HERE, "README.md")
    text = open(path).read() if os.path.exists(path) else ""
    begin, end = "<!-- k2-fixtures:begin -->", "<!-- k2-fixtures:end -->"
    if begin in text and end in text:
        text = text[: text.index(begin) + len(begin)] + "\n" + section + text[text.index(end):]
        open(path, "w").write(text)
    else:
        print("README.md has no k2-fixtures markers; section not written", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "bad"), exist_ok=True)

    builders = [
        ("mobilenetv2_narrow", mobilenetv2_narrow, False),
        ("se_block", se_block, True),
        ("separable_block", separable_block, True),
    ]
    results = []
    for i, (name, build, also_keras) in enumerate(builders):
        tf.keras.utils.set_random_seed(SEED + i)
        rng = np.random.default_rng(SEED + i)
        model, value_range = build(rng)
        x = make_input(model.input_shape, value_range, SEED + 1000 + i)
        calib = make_input(model.input_shape, value_range, SEED + 1100 + i)
        randomise_weights(model, rng, calib)
        temper_softmax_head(model, calib)
        y = np.asarray(model.predict(x, verbose=0), dtype="float32")
        h5 = os.path.join(args.out, f"{name}.k2.h5")
        model.save(h5)
        np.save(os.path.join(args.out, f"{name}.k2.input.npy"), x)
        np.save(os.path.join(args.out, f"{name}.k2.output.npy"), y)
        back = keras.models.load_model(h5, compile=False)
        diff = float(np.max(np.abs(back.predict(x, verbose=0) - y)))
        if diff > 1e-5:
            raise SystemExit(f"{name}: .h5 reload differs by {diff}")
        files = [h5]
        if also_keras:
            kf = os.path.join(args.out, f"{name}.k2.keras")
            model.save(kf)
            back = keras.models.load_model(kf, compile=False)
            d2 = float(np.max(np.abs(back.predict(x, verbose=0) - y)))
            if d2 > 1e-5:
                raise SystemExit(f"{name}: .keras reload differs by {d2}")
            files.append(kf)
        results.append((name, model, x, y, value_range, files))
        print(f"{name}: output {y.shape}, max|y| {np.max(np.abs(y)):.6g}, std {np.std(y):.4g}, reload diff {diff:.3g}")

    src = os.path.join(args.out, "se_block.k2.h5")
    raw = open(src, "rb").read()
    with open(os.path.join(args.out, "bad", "truncated.h5"), "wb") as f:
        f.write(raw[: len(raw) // 2])
    try:
        h5py.File(os.path.join(args.out, "bad", "truncated.h5"), "r").close()
        truncated_verdict = "h5py opens it"
    except Exception as e:  # noqa: BLE001
        truncated_verdict = "h5py: " + " ".join(str(e).split())[:120]
    print("bad/truncated.h5:", truncated_verdict)

    lines = [f"Generated by `make_fixtures_keras2.py` with TensorFlow {tf.__version__} "
             f"(Keras {importlib.metadata.version('keras')}), "
             f"NumPy {np.__version__}, h5py {h5py.__version__}.", ""]
    lines += ["| fixture | input (N,H,W,C), range | output | max abs output | files (bytes) | layers |",
              "|---|---|---|---|---|---|"]
    for name, model, x, y, vr, files in results:
        sizes = ", ".join(f"`{os.path.basename(p)}` {os.path.getsize(p)}" for p in files)
        lines.append(f"| `{name}.k2` | {x.shape}, U({vr[0]:g}, {vr[1]:g}) | {y.shape} "
                     f"| {float(np.max(np.abs(y))):.6g} | {sizes} | {len(model.layers)} |")
    lines += ["", "Layer classes in `model.layers` order:", ""]
    for name, model, *_ in results:
        lines.append(f"- `{name}.k2`: " + ", ".join(l.__class__.__name__ for l in model.layers) + ".")
    lines += ["", "Weights in the `.h5` files (`model_weights/<layer>` `weight_names` and shapes), "
              "for the small fixtures:", ""]
    for name, model, x, y, vr, files in results:
        if name == "mobilenetv2_narrow":
            continue
        lines.append(f"- `{name}.k2.h5`: " + "; ".join(h5_listing(files[0])))
    lines += ["", f"`bad/truncated.h5`: the first half of `se_block.k2.h5` ({truncated_verdict})."]
    section = "\n".join(lines) + "\n"
    if not args.no_readme and os.path.abspath(args.out) == HERE:
        rewrite_readme(section)
    else:
        print(section)


if __name__ == "__main__":
    main()
