"""Prunes Keras models with surgeon and checks the pruned files in real Keras 3.

For every `<name>.keras` (or legacy `<name>.h5`) in a folder that has a `<name>.input.npy` beside it (the committed
fixtures in Tests/SurgeonKerasTests/Fixtures/keras, or the application models made by
scripts/keras_applications.py):

1. `surgeon predict` on the original; compared with Keras's own output (`<name>.output.npy`,
   when present): does surgeon compute what Keras computes?
2. `surgeon prune MODEL --strategy l1 --target-macs 0.5 -o PRUNED.keras` (the whole command,
   timed), and `surgeon-bench keras`, which does the same in one process and times loading,
   pruning and saving separately.
3. `surgeon predict` on the pruned file, then Keras loads the pruned file
   (`keras.saving.load_model(safe_mode=True, compile=False)`) and runs it on the same input:
   does Keras accept surgeon's file and compute what surgeon computes?

Needs a release build (`swift build -c release`) and Keras 3 (scripts/keras-requirements.txt):

    KERAS_BACKEND=torch /work/venv-bench/bin/python scripts/keras_roundtrip.py \
        Tests/SurgeonKerasTests/Fixtures/keras [--only NAME ...] [--json out.json]

Prints a table; exits 1 if any difference exceeds --tolerance (relative to the output's
largest magnitude) or a step fails.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402


def run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip()[-800:]}")
    return result.stdout


def max_diff(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(a.shape)
    scale = max(float(np.abs(b).max()), 1e-30)
    return float(np.abs(a - b).max()), float(np.abs(a - b).max() / scale)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--only", nargs="*", help="model names to run (default: all)")
    ap.add_argument("--surgeon", default=".build/release/surgeon")
    ap.add_argument("--bench", default=".build/release/surgeon-bench")
    ap.add_argument("--strategy", default="l1")
    ap.add_argument("--target-macs", default="0.5")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--tolerance", type=float, default=2e-4, help="largest accepted relative difference")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    import keras  # after KERAS_BACKEND is set

    # (name, model file): .keras files, and legacy .h5 files (pruned by surgeon into .keras).
    models = sorted((f.rsplit(".", 1)[0], f) for f in os.listdir(args.folder)
                    if f.endswith((".keras", ".h5"))
                    and os.path.exists(os.path.join(args.folder, f.rsplit(".", 1)[0] + ".input.npy")))
    names = [f"{n}.h5" if f.endswith(".h5") else n for n, f in models]
    files = dict(zip(names, (f for _, f in models)))
    if args.only:
        names = [n for n in names if n in args.only]
    rows, failed = [], False
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            model = os.path.join(args.folder, files[name])
            stem = files[name].rsplit(".", 1)[0]
            x = os.path.join(args.folder, stem + ".input.npy")
            row = {"model": name}
            try:
                out = os.path.join(tmp, name + ".surgeon-original.npy")
                run([args.surgeon, "predict", model, "--data", x, "-o", out, "--threads", args.threads])
                expected = os.path.join(args.folder, stem + ".output.npy")
                if os.path.exists(expected):
                    row["original_abs"], row["original_rel"] = max_diff(np.load(out), np.load(expected))
                pruned = os.path.join(tmp, name + ".pruned.keras")
                started = time.monotonic()
                run([args.surgeon, "prune", model, "--strategy", args.strategy, "--target-macs", args.target_macs,
                     "-o", pruned, "--threads", args.threads])
                row["seconds_prune_command"] = time.monotonic() - started
                timed = os.path.join(tmp, name + ".bench.keras")
                report = json.loads(run([args.bench, "keras", model, "-o", timed, "--strategy", args.strategy,
                                         "--target-macs", args.target_macs, "--threads", args.threads, "--json"]))
                row.update({k: report[k] for k in ["params_before", "params_after", "macs_before", "macs_after",
                                                   "seconds_load", "seconds_prune", "seconds_save"]})
                ours = os.path.join(tmp, name + ".surgeon-pruned.npy")
                run([args.surgeon, "predict", pruned, "--data", x, "-o", ours, "--threads", args.threads])
                loaded = keras.saving.load_model(pruned, safe_mode=True, compile=False)
                theirs = keras.ops.convert_to_numpy(loaded(np.load(x), training=False))
                row["pruned_abs"], row["pruned_rel"] = max_diff(np.load(ours), theirs)
                row["ok"] = row["pruned_rel"] <= args.tolerance and row.get("original_rel", 0) <= args.tolerance
            except Exception as error:  # report and go on with the next model
                row["error"] = str(error)[:800]
                row["ok"] = False
            failed |= not row["ok"]
            rows.append(row)
            print(format_row(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 1 if failed else 0


def format_row(r):
    if "error" in r:
        return f"{r['model']:<22} ERROR {r['error']}"
    orig = f"{r['original_abs']:.2e} ({r['original_rel']:.1e})" if "original_abs" in r else "-"
    return (f"{r['model']:<22} surgeon vs keras {orig:<20} | MACs {r['macs_before']:>13,} -> {r['macs_after']:>13,} "
            f"({100 * r['macs_after'] / r['macs_before']:.1f}%) | load {r['seconds_load']:.2f}s prune {r['seconds_prune']:.2f}s "
            f"save {r['seconds_save']:.2f}s (command {r['seconds_prune_command']:.2f}s) | pruned: keras vs surgeon {r['pruned_abs']:.2e} ({r['pruned_rel']:.1e}) "
            f"{'ok' if r['ok'] else 'FAIL'}")


if __name__ == "__main__":
    sys.exit(main())
