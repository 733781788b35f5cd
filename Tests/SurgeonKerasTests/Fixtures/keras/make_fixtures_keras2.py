"""Writes the Keras 2 (tf.keras 2.15) fixtures of surgeon's Keras reader tests.

Run with the TensorFlow 2.15 virtualenv (see README.md in this folder):

    /work/venv-tf215/bin/python make_fixtures_keras2.py [--out DIR]

For each model it writes the legacy HDF5 file `<name>.k2.h5` (`model.save("x.h5")`), its input
`<name>.k2.input.npy` (a fixed random batch of 2, float32) and `<name>.k2.output.npy`
(`model.predict`, float32). The two small models are also saved in Keras 2.15's own `.keras`
format as `<name>.k2.keras`. It also writes `bad/truncated.h5`. It rewrites the section of
README.md between the `k2-fixtures` markers.

The models are those of make_fixtures.py, from the same definitions (fixture_models.py), with the
same random-weight treatment (scripts/keras_weights.py).
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

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 4321

sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "scripts"))
from fixture_models import make_input, mobilenetv2_narrow, se_block, separable_block  # noqa: E402
from keras_weights import check_no_constant_weights, randomise_weights, temper_softmax_head  # noqa: E402


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
        ("mobilenetv2_narrow", lambda rng: mobilenetv2_narrow(keras), False),
        ("se_block", lambda rng: se_block(keras, rng), True),
        ("separable_block", lambda rng: separable_block(keras), True),
    ]
    results = []
    for i, (name, build, also_keras) in enumerate(builders):
        tf.keras.utils.set_random_seed(SEED + i)
        rng = np.random.default_rng(SEED + i)
        model, value_range = build(rng)
        x = make_input(model.input_shape, value_range, SEED + 1000 + i)
        calib = make_input(model.input_shape, value_range, SEED + 1100 + i)
        randomise_weights(model, rng, calib, keras)
        check_no_constant_weights(model, keras)
        temper_softmax_head(model, calib, keras)
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
