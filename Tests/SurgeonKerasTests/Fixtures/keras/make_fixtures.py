"""Writes the Keras 3 fixtures of surgeon's Keras reader/writer tests.

Run with the Keras 3 virtualenv (see README.md in this folder):

    KERAS_BACKEND=torch /work/venv-bench/bin/python make_fixtures.py [--out DIR]

For each model it writes `<name>.keras` (`model.save`), `<name>.input.npy` (a fixed random batch
of 2, float32) and `<name>.output.npy` (`model.predict` of that input, float32), and then the
broken files under `bad/`. It rewrites the section of README.md between the `k3-fixtures` markers
with the layer list and the largest absolute output value of each fixture.

Every variable that Keras would leave constant (BN gamma/beta/statistics, biases, PReLU alpha) is
set to random values, so a weight mapped to the wrong place changes the output.
"""

import argparse
import io
import json
import os
import subprocess
import sys
import zipfile

os.environ.setdefault("KERAS_BACKEND", "torch")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 1234

sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "scripts"))
from fixture_models import make_input, mobilenetv2_narrow, se_block, separable_block  # noqa: E402
from keras_weights import check_no_constant_weights, randomise_weights, temper_softmax_head  # noqa: E402


# ----------------------------------------------------------------------------------------------
# The models


def dense_block():
    """DenseNet-style: stem, two concatenating dense layers, transition, pad+pool, head."""
    inp = keras.Input((16, 16, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same", use_bias=False, name="stem_conv")(inp)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for i in (1, 2):
        y = layers.BatchNormalization(name=f"d{i}_bn1")(x)
        y = layers.ReLU(name=f"d{i}_relu1")(y)
        y = layers.Conv2D(16, 1, use_bias=False, name=f"d{i}_conv1")(y)
        y = layers.BatchNormalization(name=f"d{i}_bn2")(y)
        y = layers.ReLU(name=f"d{i}_relu2")(y)
        y = layers.Conv2D(4, 3, padding="same", use_bias=False, name=f"d{i}_conv2")(y)
        x = layers.Concatenate(name=f"d{i}_concat")([x, y])
    x = layers.BatchNormalization(name="t_bn")(x)
    x = layers.ReLU(name="t_relu")(x)
    x = layers.Conv2D(8, 1, use_bias=False, name="t_conv")(x)
    x = layers.AveragePooling2D(2, strides=2, name="t_pool")(x)
    x = layers.ZeroPadding2D(((1, 1), (1, 1)), name="pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(10, activation="softmax", name="fc")(x)
    return keras.Model(inp, out, name="dense_block"), (-1.0, 1.0)


def decoder():
    """Encoder with stride-2 convs, decoder with three kinds of Conv2DTranspose and a skip."""
    inp = keras.Input((16, 16, 3), name="image")
    e1 = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="enc1")(inp)  # 8x8
    e2 = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="enc2")(e1)  # 4x4
    d1 = layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu", name="up3x3")(e2)  # 8x8
    d1 = layers.Concatenate(name="skip_cat")([d1, e1])  # 16 ch
    d2 = layers.Conv2DTranspose(6, 4, strides=2, padding="same", name="up4x4")(d1)  # 16x16
    u = layers.UpSampling2D(2, interpolation="nearest", name="upsample")(e1)  # 16x16
    d2 = layers.Concatenate(name="up_cat")([d2, u, inp])  # 6 + 8 + 3
    d3 = layers.Conv2DTranspose(4, 2, strides=2, padding="valid", name="up2x2_valid")(d2)  # 32x32
    out = layers.Conv2D(2, 1, name="out_conv")(d3)
    return keras.Model(inp, out, name="decoder"), (-1.0, 1.0)


def sequential():
    model = keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            layers.Conv2D(6, 3, padding="same", name="conv"),
            layers.BatchNormalization(name="bn"),
            layers.ReLU(name="relu"),
            layers.MaxPooling2D(2, name="pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(4, name="fc"),
        ],
        name="sequential",
    )
    return model, (-1.0, 1.0)


# ----------------------------------------------------------------------------------------------
# Saving


def save_fixture(out_dir, name, model, value_range, rng, seed):
    x = make_input(model.input_shape, value_range, seed)
    calib = make_input(model.input_shape, value_range, seed + 100)
    randomise_weights(model, rng, calib, keras)
    check_no_constant_weights(model, keras)
    temper_softmax_head(model, calib, keras)
    y = np.asarray(model.predict(x, verbose=0), dtype="float32")
    if not np.all(np.isfinite(y)):
        raise SystemExit(f"{name}: output not finite")
    model.save(os.path.join(out_dir, f"{name}.keras"))
    np.save(os.path.join(out_dir, f"{name}.input.npy"), x)
    np.save(os.path.join(out_dir, f"{name}.output.npy"), y)
    # Reload and compare, so that a fixture that does not round-trip in Keras is never written.
    back = keras.saving.load_model(os.path.join(out_dir, f"{name}.keras"), compile=False)
    y2 = np.asarray(back.predict(x, verbose=0), dtype="float32")
    diff = float(np.max(np.abs(y - y2)))
    if diff > 1e-5:
        raise SystemExit(f"{name}: reload differs by {diff}")
    return {
        "name": name,
        "model": model,
        "input_shape": list(x.shape),
        "input_range": list(value_range),
        "output_shape": list(y.shape),
        "max_abs_output": float(np.max(np.abs(y))),
        "output_std": float(np.std(y)),
        "reload_diff": diff,
    }


def layer_summary(model):
    """Class names in `model.layers` order."""
    return [l.__class__.__name__ for l in model.layers]


def collapsed(names):
    """Runs of one class collapsed: `BatchNormalization ×3`."""
    out = []
    for n in names:
        if out and out[-1][0] == n:
            out[-1][1] += 1
        else:
            out.append([n, 1])
    return ", ".join(n if c == 1 else f"{n} ×{c}" for n, c in out)


# ----------------------------------------------------------------------------------------------
# Broken files


def zip_members(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def write_zip(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in members:
            z.writestr(name, data)


def edit_weights(src, dst, edit):
    """Copies the `.keras` file `src` to `dst`, with `edit(h5file)` applied to model.weights.h5."""
    members = zip_members(src)
    out = []
    for name, data in members:
        if name == "model.weights.h5":
            buf = io.BytesIO(data)
            with h5py.File(buf, "r+") as f:
                edit(f)
            data = buf.getvalue()
        out.append((name, data))
    write_zip(dst, out)


def raw_data_ranges(h5bytes):
    """Byte ranges of all contiguous dataset payloads in an HDF5 image."""
    ranges = []
    with h5py.File(io.BytesIO(h5bytes), "r") as f:
        def visit(_, obj):
            if isinstance(obj, h5py.Dataset):
                off = obj.id.get_offset()
                if off is not None:
                    ranges.append((off, off + obj.id.get_storage_size()))
        f.visititems(visit)
    return ranges


def h5_fully_readable(h5bytes):
    try:
        with h5py.File(io.BytesIO(h5bytes), "r") as f:
            def visit(_, obj):
                if isinstance(obj, h5py.Dataset):
                    obj[()]
                for k in obj.attrs:
                    obj.attrs[k]
            f.visititems(visit)
        return True
    except Exception:
        return False


def corrupt_h5_metadata(h5bytes):
    """Overwrites 32 bytes of HDF5 *metadata* (not dataset payload) nearest the middle of the
    file, so that the damage is one a reader must detect rather than silently wrong weights."""
    ranges = raw_data_ranges(h5bytes)
    def in_payload(pos):
        return any(a <= pos < b for a, b in ranges) or any(a <= pos + 31 < b for a, b in ranges)
    mid = len(h5bytes) // 2
    candidates = sorted(range(96, len(h5bytes) - 32, 8), key=lambda p: abs(p - mid))
    for pos in candidates:
        if in_payload(pos):
            continue
        data = bytearray(h5bytes)
        data[pos:pos + 32] = bytes([0xA5]) * 32
        if not h5_fully_readable(bytes(data)):
            return bytes(data), pos
    raise SystemExit("could not find metadata bytes whose corruption h5py detects")


def make_bad_files(out_dir, rng):
    bad = os.path.join(out_dir, "bad")
    os.makedirs(bad, exist_ok=True)
    src = os.path.join(out_dir, "sequential.keras")
    raw = open(src, "rb").read()
    made = {}

    with open(os.path.join(bad, "truncated.keras"), "wb") as f:
        f.write(raw[: len(raw) // 2])
    made["truncated.keras"] = "first half of sequential.keras"

    with open(os.path.join(bad, "not_a_zip.keras"), "wb") as f:
        f.write(np.random.default_rng(SEED).integers(0, 256, 1024, dtype=np.uint8).tobytes())
    made["not_a_zip.keras"] = "1024 random bytes"

    members = zip_members(src)
    write_zip(os.path.join(bad, "missing_weights.keras"), [m for m in members if m[0] != "model.weights.h5"])
    made["missing_weights.keras"] = "sequential.keras without the member model.weights.h5"
    write_zip(os.path.join(bad, "missing_config.keras"), [m for m in members if m[0] != "config.json"])
    made["missing_config.keras"] = "sequential.keras without the member config.json"

    # Lambda: Keras 3 serialises the function's bytecode; loading needs safe_mode=False.
    keras.utils.set_random_seed(SEED)
    inp = keras.Input((8, 8, 3), name="image")
    x = layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    x = layers.Lambda(lambda t: t * 2.0 + 1.0, name="affine_lambda")(x)
    out = layers.GlobalAveragePooling2D(name="gap")(x)
    keras.Model(inp, out, name="lambda_model").save(os.path.join(bad, "lambda.keras"))
    made["lambda.keras"] = "Conv2D -> Lambda(t*2+1) -> GAP; Lambda is arbitrary Python bytecode"

    @keras.saving.register_keras_serializable(package="SurgeonFixtures")
    class ScaleByTwo(layers.Layer):
        def call(self, t):
            return t * 2.0

    inp = keras.Input((8, 8, 3), name="image")
    x = layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    x = ScaleByTwo(name="scale")(x)
    out = layers.GlobalAveragePooling2D(name="gap")(x)
    keras.Model(inp, out, name="custom_model").save(os.path.join(bad, "custom_layer.keras"))
    made["custom_layer.keras"] = (
        "Conv2D -> custom ScaleByTwo (registered_name 'SurgeonFixtures>ScaleByTwo') -> GAP"
    )

    inp = keras.Input((8, 8, 3), name="image")
    x = layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    inner = keras.Sequential(
        [keras.Input((8, 8, 4)), layers.Conv2D(6, 1, name="inner_conv"),
         layers.BatchNormalization(name="inner_bn"), layers.ReLU(name="inner_relu")],
        name="inner_seq",
    )
    x = inner(x)
    out = layers.GlobalAveragePooling2D(name="gap")(x)
    nested = keras.Model(inp, out, name="nested_model")
    xin = make_input(nested.input_shape, (-1.0, 1.0), SEED + 7)
    randomise_weights(nested, rng, make_input(nested.input_shape, (-1.0, 1.0), SEED + 8), keras)
    check_no_constant_weights(nested, keras)
    nested.save(os.path.join(bad, "nested_model.keras"))
    np.save(os.path.join(bad, "nested_model.input.npy"), xin)
    np.save(os.path.join(bad, "nested_model.output.npy"), np.asarray(nested.predict(xin, verbose=0), dtype="float32"))
    made["nested_model.keras"] = (
        "Conv2D -> nested Sequential [Conv2D, BN, ReLU] -> GAP (valid for Keras; "
        "with nested_model.input.npy / .output.npy)"
    )

    def wrong_shape(f):
        d = f["layers/conv2d/vars/0"]
        shape = d.shape
        del f["layers/conv2d/vars/0"]
        f["layers/conv2d/vars"].create_dataset("0", data=np.ones(shape[:-1] + (shape[-1] + 1,), "float32"))
    edit_weights(src, os.path.join(bad, "shape_mismatch.keras"), wrong_shape)
    made["shape_mismatch.keras"] = (
        "sequential.keras with layers/conv2d/vars/0 (the kernel, (3,3,3,6)) replaced by a (3,3,3,7) dataset"
    )

    def drop_one(f):
        del f["layers/batch_normalization/vars/3"]
    edit_weights(src, os.path.join(bad, "count_mismatch.keras"), drop_one)
    made["count_mismatch.keras"] = (
        "sequential.keras with layers/batch_normalization/vars/3 (moving_variance) removed: 3 of 4"
    )

    h5 = dict(members)["model.weights.h5"]
    broken, pos = corrupt_h5_metadata(h5)
    write_zip(os.path.join(bad, "corrupt_weights.keras"),
              [(n, broken if n == "model.weights.h5" else d) for n, d in members])
    made["corrupt_weights.keras"] = (
        f"sequential.keras whose model.weights.h5 has 32 bytes of HDF5 metadata at offset {pos} "
        f"(of {len(h5)}) overwritten with 0xA5; the zip itself is valid (CRCs match)"
    )
    return made


def keras_verdict(path):
    """Loads `path` in a fresh process (safe_mode=True, compile=False): 'loads' or the error."""
    code = (
        "import os,sys; os.environ.setdefault('KERAS_BACKEND','torch'); import keras\n"
        "try:\n"
        "    keras.saving.load_model(sys.argv[1], safe_mode=True, compile=False); print('loads')\n"
        "except Exception as e:\n"
        "    print(type(e).__name__ + ': ' + ' '.join(str(e).split())[:160])\n"
    )
    r = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True)
    lines = r.stdout.strip().splitlines()
    return lines[-1] if lines else f"crashed: {r.stderr.strip().splitlines()[-1:]}"


# ----------------------------------------------------------------------------------------------


def weights_listing(path):
    """`group: shapes` for every weight group with datasets in a .keras file."""
    with zipfile.ZipFile(path) as z:
        data = z.read("model.weights.h5")
    rows = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                g = name.rsplit("/", 1)[0]
                rows.setdefault(g, []).append(f"{obj.dtype}{list(obj.shape)}")
        f.visititems(visit)
    return rows


def rewrite_readme(section):
    path = os.path.join(HERE, "README.md")
    text = open(path).read() if os.path.exists(path) else ""
    begin, end = "<!-- k3-fixtures:begin -->", "<!-- k3-fixtures:end -->"
    if begin in text and end in text:
        text = text[: text.index(begin) + len(begin)] + "\n" + section + text[text.index(end):]
        open(path, "w").write(text)
    else:
        print("README.md has no k3-fixtures markers; section not written", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    builders = [
        ("mobilenetv2_narrow", lambda rng: mobilenetv2_narrow(keras)),
        ("dense_block", lambda rng: dense_block()),
        ("se_block", lambda rng: se_block(keras, rng)),
        ("separable_block", lambda rng: separable_block(keras)),
        ("decoder", lambda rng: decoder()),
        ("sequential", lambda rng: sequential()),
    ]
    results = []
    for i, (name, build) in enumerate(builders):
        keras.utils.set_random_seed(SEED + i)
        rng = np.random.default_rng(SEED + i)
        model, value_range = build(rng)
        r = save_fixture(args.out, name, model, value_range, rng, SEED + 1000 + i)
        results.append(r)
        print(f"{name}: {len(model.layers)} layers, output {r['output_shape']}, "
              f"max|y| {r['max_abs_output']:.6g}, std {r['output_std']:.4g}, reload diff {r['reload_diff']:.3g}")

    made = make_bad_files(args.out, np.random.default_rng(SEED + 99))
    verdicts = {
        n: keras_verdict(os.path.join(args.out, "bad", n)).replace(os.path.join(args.out, "bad", ""), "bad/")
        for n in made
    }
    for n in made:
        print(f"bad/{n}: {verdicts[n]}")

    lines = [f"Generated by `make_fixtures.py` with Keras {keras.__version__} "
             f"(backend {keras.backend.backend()}), NumPy {np.__version__}, h5py {h5py.__version__}.", ""]
    lines += ["| fixture | input (N,H,W,C), range | output | max abs output | `.keras` bytes | layers |",
              "|---|---|---|---|---|---|"]
    for r in results:
        size = os.path.getsize(os.path.join(args.out, r["name"] + ".keras"))
        lines.append(
            f"| `{r['name']}` | {tuple(r['input_shape'])}, U({r['input_range'][0]:g}, {r['input_range'][1]:g}) "
            f"| {tuple(r['output_shape'])} | {r['max_abs_output']:.6g} | {size} | {len(r['model'].layers)} |"
        )
    lines += ["", "Layer classes in `model.layers` order (runs collapsed), then the count of each class:", ""]
    for r in results:
        names = layer_summary(r["model"])
        counts = ", ".join(f"{n} {names.count(n)}" for n in sorted(set(names)))
        lines.append(f"- `{r['name']}`: {collapsed(names)}.  \n  Counts: {counts}.")
    lines += ["", "Weight groups with datasets (`model.weights.h5`), for the small fixtures:", ""]
    for r in results:
        if r["name"] == "mobilenetv2_narrow":
            continue
        lines.append(f"- `{r['name']}`: " + "; ".join(
            f"`{g}` {', '.join(s)}" for g, s in weights_listing(os.path.join(args.out, r["name"] + ".keras")).items()))
    lines += ["", "Broken files (`bad/`), and what Keras itself says on "
              "`load_model(path, safe_mode=True, compile=False)`:", "",
              "| file | what it is | Keras 3 |", "|---|---|---|"]
    for n, what in made.items():
        lines.append(f"| `bad/{n}` | {what} | {verdicts[n].replace('|', '/')} |")
    section = "\n".join(lines) + "\n"
    if not args.no_readme and os.path.abspath(args.out) == HERE:
        rewrite_readme(section)
    else:
        print(section)


if __name__ == "__main__":
    main()
