"""Runs a Keras model file on an input and compares the result with an expected output.

A by-hand check that a model file written by surgeon (or by anyone) loads in real Keras 3 and
computes what surgeon says it computes:

    KERAS_BACKEND=torch /work/venv-bench/bin/python scripts/keras_check.py \\
        model.keras input.npy expected.npy [--tolerance 1e-4] [--relative]

The model is loaded with `keras.saving.load_model(path, safe_mode=True, compile=False)` (a
legacy `.h5` also works) and run as `model(x, training=False)`. Prints one JSON object:

    {"model": ..., "output_shape": [...], "max_abs_diff": ..., "max_rel_diff": ...,
     "max_abs_expected": ..., "tolerance": ..., "compared": "abs", "ok": true}

`max_rel_diff` is `max_abs_diff / max|expected|` (relative to the output's scale, which stays
meaningful where single entries are near zero). The check compares `max_abs_diff` with
`--tolerance`, or `max_rel_diff` with `--relative`.

Exit status: 0 within tolerance, 1 above it or on a shape mismatch, 2 if the model does not load
or run (the JSON then has an "error" key).
"""

import argparse
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="a .keras (or legacy .h5) model file")
    ap.add_argument("input", help=".npy input batch, NHWC float32")
    ap.add_argument("expected", help=".npy expected output")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="largest accepted difference (default 1e-4)")
    ap.add_argument("--relative", action="store_true", help="compare max_rel_diff instead of max_abs_diff")
    ap.add_argument("--unsafe", action="store_true", help="load with safe_mode=False (allows Lambda layers)")
    args = ap.parse_args()

    import keras
    import numpy as np

    report = {"model": args.model, "keras_version": keras.__version__, "backend": keras.backend.backend(),
              "tolerance": args.tolerance, "compared": "rel" if args.relative else "abs"}
    x = np.load(args.input).astype("float32")
    expected = np.load(args.expected)
    try:
        model = keras.saving.load_model(args.model, safe_mode=not args.unsafe, compile=False)
        y = model(x, training=False)
        if isinstance(y, (list, tuple, dict)):
            raise ValueError(f"the model has {len(y)} outputs; this script compares one")
        y = np.asarray(keras.ops.convert_to_numpy(y), dtype="float32")
    except Exception as e:  # noqa: BLE001 - any failure to load or run is the answer
        report.update(ok=False, error=f"{type(e).__name__}: {' '.join(str(e).split())[:2000]}")
        print(json.dumps(report, indent=1))
        return 2

    report["output_shape"] = list(y.shape)
    if y.shape != expected.shape:
        report.update(ok=False, error=f"output shape {list(y.shape)} != expected shape {list(expected.shape)}")
        print(json.dumps(report, indent=1))
        return 1
    diff = np.abs(y.astype("float64") - expected.astype("float64"))
    max_abs = float(diff.max()) if diff.size else 0.0
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
    report.update(max_abs_diff=max_abs, max_rel_diff=max_rel, max_abs_expected=scale,
                  finite=bool(np.all(np.isfinite(y))))
    measured = max_rel if args.relative else max_abs
    report["ok"] = bool(report["finite"] and measured <= args.tolerance)
    print(json.dumps(report, indent=1))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
