#!/usr/bin/env python3
"""The standard recipe on other splits of the bundled MNIST-5k: is a default tuned to the demo's
split, or does it hold elsewhere?

Split k is the bundled images and labels in the order of ``numpy.random.default_rng(k)
.permutation(5000)``; ``surgeon demo --data-dir`` then trains on its first 4,000 samples and
validates on the next 1,000, as on the bundled order. For every variant, MACs target, split and
seed this runs

    <surgeon> demo --variant V --target-macs F --seed S --data-dir SPLIT --threads T --json -o DIR

one after the other (two 2-thread jobs at once slow each other several-fold here) and prints,
per variant, cut and split, the mean / minimum over the seeds of the baseline, the accuracy right
after pruning (after BatchNorm recalibration), the final accuracy and final - baseline (each
seed against its own baseline), as a Markdown table. Every run's figures go to --json-out.

    python3 benchmarks/other_splits.py --surgeon .build/release/surgeon \\
        --variants vgg res mobilenetv2 --macs-target 0.2 --splits 1 2 --seeds 0 1 2

Needs numpy (benchmarks/requirements.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmark_support import parse_json_object

BUNDLED = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "SurgeonPipeline", "Resources", "mnist-5k")


def make_split(k: int, root: str) -> str:
    """Folder holding split k (images.npy, labels.npy); made once under `root`."""
    folder = os.path.join(root, f"split{k}")
    if os.path.exists(os.path.join(folder, "labels.npy")):
        return folder
    images = np.load(os.path.join(BUNDLED, "images.npy"))
    labels = np.load(os.path.join(BUNDLED, "labels.npy"))
    order = np.random.default_rng(k).permutation(len(images))
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "images.npy"), images[order])
    np.save(os.path.join(folder, "labels.npy"), labels[order])
    return folder


def run(surgeon: str, variant: str, target: float, seed: int, data: str, threads: int, out: str) -> dict:
    """One demo run's accuracy per stage (%), MACs share and wall time."""
    cmd = [surgeon, "demo", "--variant", variant, "--target-macs", repr(target), "--seed", str(seed),
           "--data-dir", data, "--threads", str(threads), "-o", out, "--json"]
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"error: exit status {proc.returncode}: {' '.join(cmd)}")
    stages = {s["stage"]: s for s in parse_json_object(proc.stdout, "stages")["stages"]}
    row = {
        "baseline": 100 * stages["baseline"]["accuracy"],
        "after_pruning": 100 * stages["pruned"]["accuracy"],
        "final": 100 * stages["retrained"]["accuracy"],
        "macs_kept": stages["retrained"]["macs"] / stages["baseline"]["macs"],
        "seconds": time.perf_counter() - t,
    }
    print(f"  baseline {row['baseline']:.1f}, right after pruning {row['after_pruning']:.1f}, "
          f"final {row['final']:.1f}, MACs kept {100 * row['macs_kept']:.1f}%", file=sys.stderr, flush=True)
    return row


def table(results: list[dict]) -> str:
    """Markdown: mean / min over seeds per (variant, target, split)."""
    lines = ["| variant | cut | split | seeds | baseline | right after pruning | final | final - baseline |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    keys = []
    for r in results:
        key = (r["variant"], r["target"], r["split"])
        if key not in keys:
            keys.append(key)
    for variant, target, split in keys:
        rows = [r for r in results if (r["variant"], r["target"], r["split"]) == (variant, target, split)]

        def cell(values: list[float], signed: bool = False) -> str:
            f = "{:+.2f} / {:+.1f}" if signed else "{:.2f} / {:.1f}"
            return f.format(sum(values) / len(values), min(values))

        lines.append(
            f"| {variant} | {round(100 - 100 * target)}% | {split} | {len(rows)} | "
            f"{cell([r['baseline'] for r in rows])} | {cell([r['after_pruning'] for r in rows])} | "
            f"{cell([r['final'] for r in rows])} | {cell([r['final'] - r['baseline'] for r in rows], True)} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--surgeon", default=".build/release/surgeon", help="the surgeon binary")
    p.add_argument("--variants", nargs="+", default=["vgg", "res", "mobilenetv2"],
                   choices=["vgg", "res", "mobilenetv2"])
    p.add_argument("--macs-target", nargs="+", type=float, default=[0.2])
    p.add_argument("--splits", nargs="+", type=int, default=[1, 2])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--work-dir", default=None, help="where splits and run folders go (default: a new temporary folder)")
    p.add_argument("--json-out", default=None, help="write every run's figures here")
    args = p.parse_args()
    if any(k < 0 for k in args.splits) or any(not 0 < t <= 1 for t in args.macs_target):
        p.error("splits are seeds >= 0 and MACs targets fractions in (0, 1]")
    root = args.work_dir or tempfile.mkdtemp(prefix="surgeon-splits-")
    print(f"splits and runs under {root}", file=sys.stderr)
    results = []
    for target in args.macs_target:
        for variant in args.variants:
            for split in args.splits:
                data = make_split(split, root)
                for seed in args.seeds:
                    out = os.path.join(root, f"{variant}-{target:g}-split{split}-seed{seed}")
                    row = run(args.surgeon, variant, target, seed, data, args.threads, out)
                    results.append({"variant": variant, "target": target, "split": split, "seed": seed, **row})
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=1)
    print(table(results))


if __name__ == "__main__":
    main()
