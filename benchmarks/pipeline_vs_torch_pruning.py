#!/usr/bin/env python3
"""surgeon's prune pipeline against PyTorch + Torch-Pruning, side by side.

Runs the same four-stage Network Slimming pipeline -- train, sparse-train,
prune, retrain -- on the same data with PyTorch + Torch-Pruning and, when given
``--surgeon-cmd``, with surgeon, for each requested variant, MACs target
(``--macs-target``, one or more fractions) and seed (``--seeds``, one or more),
and prints per run, stage and tool: validation accuracy, parameters, MACs and
the stage's wall time, then the final accuracy, the MACs ratio (after/before)
and the total wall time of each tool. A summary table follows, one row per
variant and MACs target: for each tool the final accuracy and the accuracy
right after pruning (mean and minimum over the seeds), the MACs ratio and the
total seconds (means), and, when both tools ran, surgeon's mean final accuracy
minus Torch-Pruning's in percentage points (``--markdown`` prints it as a
Markdown table).

How to run it (from the repository root)::

    # 1. A virtualenv OUTSIDE the repository, with the pinned requirements
    #    (the CPU-only torch build, numpy and torch-pruning):
    python3 -m venv /work/venv-bench
    /work/venv-bench/bin/pip install -r benchmarks/requirements.txt

    # 2. Build surgeon in release mode:
    swift build -c release

    # 3. Run the benchmark (PyTorch/Torch-Pruning only, or against surgeon):
    /work/venv-bench/bin/python benchmarks/pipeline_vs_torch_pruning.py --variants vgg
    /work/venv-bench/bin/python benchmarks/pipeline_vs_torch_pruning.py \\
        --l1-lambda 3e-2 mobilenetv2=1e-2 --tp-normalizer none \\
        --surgeon-cmd ".build/release/surgeon demo -o runs/benchmark-$(date +%s)" --json
    # several budgets and seeds, summary as a Markdown table:
    /work/venv-bench/bin/python benchmarks/pipeline_vs_torch_pruning.py \\
        --variants vgg --macs-target 0.5 0.3 0.2 0.1 --seeds 0 1 2 --tp-normalizer none \\
        --surgeon-cmd ".build/release/surgeon demo -o runs/benchmark-$(date +%s)" --markdown

(``surgeon demo --variant V --seed S --target-macs F --round-to N --json`` runs surgeon's
standard recipe and prints this script's JSON shape; the raw-gamma ranking
above matches surgeon's recipe, the lambdas its former l1-gamma sparse stage.) Run it on an otherwise idle
machine: with 2 cores, any other busy process makes the 2-thread PyTorch times
swing by an order of magnitude (the accuracies, seeded, do not change). The
script warns when other processes kept more than a fifth of a core busy during
a PyTorch run and records that in ``--json``.

The surgeon command is run through the shell, once per variant V, MACs target F
and seed S, as ``CMD --variant V --seed S --target-macs F --round-to N --json`` (put any
other option surgeon needs, such as its thread count, into CMD). Every run
needs a new run folder -- given an old one, surgeon resumes the old run -- so
the script gives each run its own: every ``-o DIR``, ``--output DIR`` or
``--output=DIR`` in CMD becomes ``DIR/V-tF-sS`` (``runs/benchmark-1700000000``
becomes ``runs/benchmark-1700000000/vgg-t0.3-s1``; DIR itself must still be new
for each invocation of this script), and a CMD without one gets
``-o TMP/V-tF-sS`` appended, TMP a fresh temporary folder made once per
invocation (its path is logged; it is not deleted). The command's stdout must
contain a JSON object like::

    {"variant": "vgg",
     "stages": [{"stage": "baseline", "accuracy": 0.981, "params": 105450,
                 "macs": 9956512, "seconds": 31.2},
                {"stage": "sparse", ...}, {"stage": "pruned", ...},
                {"stage": "retrained", ...}],
     "total_seconds": 120.5}

(log lines around it are tolerated; its stderr is passed through). Each tool
counts parameters and MACs its own way -- Torch-Pruning's
``count_ops_and_params`` here, surgeon's own counter there -- so compare the
MACs *ratios* across tools, not the absolute counts. The runs go variant by
variant, target by target, seed by seed, each PyTorch run followed by the
matching surgeon run, so that machine noise hits both tools alike.

The pipeline, PyTorch side:

* Data: the bundled MNIST subset ``Sources/SurgeonPipeline/Resources/mnist-5k``
  (uint8 [5000, 28, 28, 1] images, int64 labels), pixels / 255; the first
  4,000 images train, the last 1,000 validate. Every epoch reshuffles the
  training set with a generator seeded from the run's seed S (S + 1, S + 2
  and S + 4 for the three training stages); the last batch of an epoch is the
  partial one (4,000 = 62 x 64 + 32), as in surgeon.
* Model: the variant at 28x28x1, width 1.0, 10 classes, built by
  ``train_throughput.Net`` (BN eps 1e-3, momentum 0.1), its initial weights
  drawn after ``torch.manual_seed(S)``.
* Training, all three training stages: batch 64, SGD momentum 0.9, Nesterov,
  weight decay 5e-4 on conv/linear weights only (tensors of rank >= 2; not
  biases, not BatchNorm), softmax cross-entropy, a fresh optimizer per stage,
  the learning rate set per step: linear warm-up from lr/W to lr over the first
  W steps, then cosine to 0 over the remaining steps of the stage (surgeon's
  ``LearningRateSchedule``).
* 1 "baseline": 5 epochs, lr 0.05, no warm-up.
* 2 "sparse": 5 epochs, lr 0.05, plus Network Slimming's L1 on every BN weight
  (gamma): after ``loss.backward()``, ``grad += lam * sign(gamma)``, lam 3e-2
  (what ``tp.pruner.BNScalePruner.regularize`` does with ``group_lasso=False``).
  ``--l1-lambda`` sets lam, for all variants or per variant
  (``--l1-lambda 3e-2 mobilenetv2=1e-2``).
* 3 "pruned": Torch-Pruning's ``BNScalePruner`` with ``BNScaleImportance()``,
  ``global_pruning=True``, ``round_to=N`` (``--round-to``, 8 by default as in
  surgeon's demo, and passed to surgeon too), the final Linear ignored, pruned in
  small steps until MACs <= F times the original (F the run's MACs target) --
  the recipe of Torch-Pruning's ``reproduce/main.py`` (``pruning_ratio=1.0``,
  ``iterative_steps=400``, call ``pruner.step()`` and re-measure with
  ``tp.utils.count_ops_and_params`` on a [1, 1, 28, 28] input until the
  target is reached). No fine-tuning; evaluated
  right after pruning. The last step can overshoot the target (``round_to``
  removes channels N at a time); the MACs actually reached are reported.
* 4 "retrained": 5 epochs, lr 0.03 with a 1-epoch linear warm-up, then cosine.

The two sides run the same stages, epochs, optimiser, schedule and data; each
sparse-trains its own way. Torch-Pruning's side is Network Slimming (L1 on the
BN scales, ``--l1-lambda``); surgeon's ``Recipe.standard`` uses group lasso on
the channels the prune stage will cut (``growing-lasso``, lambda 0.1). It ranks
raw |gamma| across groups, which is ``--tp-normalizer none`` here (Torch-Pruning's
default divides each group's scores by their mean); and its bias compensation
(folding deleted channels' means into the next layer) has no counterpart in
Torch-Pruning, which simply removes the channels.

After every stage: validation accuracy (BN in eval mode), parameters and MACs
per sample (``tp.utils.count_ops_and_params``: learnable parameters only, not BN
running statistics), and the stage's wall time -- its training or pruning plus
its one validation pass; the parameter/MAC count for the report is not timed
(in the prune stage the counts that drive the loop are). ``torch.set_num_threads``
gets ``--threads``. Progress goes to stderr; the tables, or the JSON with
``--json`` (per-run results under "results", the summary rows under
"summary"), to stdout. With both ``--json`` and ``--markdown`` the Markdown
summary goes to stderr, after the runs.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch_pruning as tp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import (  # noqa: E402  (the architectures, exactly as surgeon builds them)
    parse_json_object,
    INPUT_CHANNELS,
    INPUT_SIZE,
    NUM_CLASSES,
    OTHER_LOAD_WARN,
    VARIANTS,
    Net,
    OtherLoad,
    log,
    positive_int,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO / "Sources" / "SurgeonPipeline" / "Resources" / "mnist-5k"
STAGE_NAMES = ("baseline", "sparse", "pruned", "retrained")
TRAIN_COUNT = 4000
VALIDATION_COUNT = 1000
BATCH_SIZE = 64
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
RETRAIN_LR = 0.03  # surgeon's standard recipe (Recipe.standard)


# --------------------------------------------------------------------------- data


def load_mnist(directory: Path) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """(train, validation) as ([N, 1, 28, 28] float32 in [0, 1], [N] int64)."""
    images = np.load(directory / "images.npy")
    labels = np.load(directory / "labels.npy")
    if images.shape != (5000, INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS) or images.dtype != np.uint8:
        raise SystemExit(f"error: unexpected images.npy: {images.dtype} {images.shape}")
    if labels.shape != (5000,):
        raise SystemExit(f"error: unexpected labels.npy shape {labels.shape}")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
    y = torch.from_numpy(labels.astype(np.int64))
    train = (x[:TRAIN_COUNT], y[:TRAIN_COUNT])
    validation = (x[-VALIDATION_COUNT:], y[-VALIDATION_COUNT:])
    return train, validation


# ----------------------------------------------------------------------- training


def learning_rate(base: float, step: int, total_steps: int, warmup_steps: int) -> float:
    """surgeon's schedule: linear warm-up from base/W to base over W steps, then
    cosine from base to 0 over the remaining steps."""
    if step < warmup_steps:
        return base * (step + 1) / warmup_steps
    span = max(total_steps - warmup_steps, 1)
    progress = min((step - warmup_steps) / span, 1.0)
    return base * 0.5 * (1.0 + math.cos(math.pi * progress))


def make_optimizer(model: nn.Module, lr: float) -> torch.optim.SGD:
    """SGD, Nesterov momentum; weight decay on conv/linear weights only."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]  # biases, BN gamma/beta
    return torch.optim.SGD(
        [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, momentum=MOMENTUM, nesterov=True,
    )


def bn_l1_subgradient_(model: nn.Module, lam: float) -> None:
    """Network Slimming's sparsity term: grad(gamma) += lam * sign(gamma) for
    every BatchNorm weight (call after loss.backward())."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine and m.weight.grad is not None:
            m.weight.grad.add_(torch.sign(m.weight.detach()), alpha=lam)


def train(model: nn.Module, data: tuple[torch.Tensor, torch.Tensor], *, epochs: int, lr: float,
          warmup_epochs: float, seed: int, l1_lambda: float = 0.0, label: str = "") -> list[dict]:
    """Trains `model` in place; returns per-epoch training loss/accuracy."""
    x, y = data
    n = x.shape[0]
    steps_per_epoch = math.ceil(n / BATCH_SIZE)
    total_steps = steps_per_epoch * epochs
    warmup_steps = round(warmup_epochs * steps_per_epoch)
    opt = make_optimizer(model, lr)
    gen = torch.Generator().manual_seed(seed)
    history = []
    step = 0
    for epoch in range(epochs):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        for start in range(0, n, BATCH_SIZE):
            idx = order[start:start + BATCH_SIZE]
            xb, yb = x[idx], y[idx]
            rate = learning_rate(lr, step, total_steps, warmup_steps)
            for g in opt.param_groups:
                g["lr"] = rate
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            loss.backward()
            if l1_lambda:
                bn_l1_subgradient_(model, l1_lambda)
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
            step += 1
        if not math.isfinite(loss_sum):
            raise SystemExit(f"error: non-finite training loss in {label} epoch {epoch + 1}")
        seconds = time.perf_counter() - t0
        history.append({"epoch": epoch + 1, "loss": loss_sum / n, "accuracy": correct / n, "last_lr": rate,
                        "seconds": seconds})
        log(f"    {label} epoch {epoch + 1}/{epochs}: loss {loss_sum / n:.4f}, train acc {correct / n:.4f}, "
            f"last lr {rate:.4g}, {seconds:.1f} s")
    return history


@torch.no_grad()
def evaluate(model: nn.Module, data: tuple[torch.Tensor, torch.Tensor], batch_size: int = 500) -> float:
    model.eval()
    x, y = data
    correct = 0
    for start in range(0, x.shape[0], batch_size):
        correct += (model(x[start:start + batch_size]).argmax(1) == y[start:start + batch_size]).sum().item()
    return correct / x.shape[0]


def count(model: nn.Module, example: torch.Tensor) -> tuple[int, int]:
    """(MACs per sample, parameters) by Torch-Pruning's counter."""
    macs, params = tp.utils.count_ops_and_params(model, example)
    return int(macs), int(params)


def conv_widths(model: nn.Module) -> list[int]:
    return [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]


# ------------------------------------------------------------------------ pruning


def prune_to_macs(model: nn.Module, example: torch.Tensor, args: argparse.Namespace, macs_target: float) -> dict:
    """Torch-Pruning's recipe for a MACs target (reproduce/main.py's
    progressive_pruning): a pruner with pruning_ratio=1.0 over many small
    iterative steps, stepped until MACs <= macs_target * original."""
    model.eval()  # counting runs forward passes: keep BN statistics untouched
    base_macs, _ = count(model, example)
    importance = tp.importance.BNScaleImportance(
        normalizer=None if args.tp_normalizer == "none" else args.tp_normalizer)
    pruner = tp.pruner.BNScalePruner(
        model,
        example,
        importance=importance,
        global_pruning=True,
        pruning_ratio=1.0,
        iterative_steps=args.prune_steps,
        round_to=args.round_to,
        ignored_layers=[model.classifier],  # never prune the 10 class outputs
    )
    target = macs_target * base_macs
    macs = base_macs
    trajectory = []  # MACs after each step that changed them
    while macs > target and pruner.current_step < pruner.iterative_steps:
        pruner.step()
        macs, _ = count(model, example)
        if not trajectory or macs != trajectory[-1][1]:
            trajectory.append((pruner.current_step, macs))
    if macs > target:
        log(f"  warning: MACs target not reached after {pruner.current_step} steps "
            f"({macs:,} > {target:,.0f})")
    log(f"    {pruner.current_step} pruner steps; MACs after the steps that changed them: "
        + ", ".join(f"{m / base_macs:.3f}" for _, m in trajectory))
    return {"pruner_steps": pruner.current_step, "macs_target": int(target),
            "macs_trajectory": [{"step": s, "macs": m} for s, m in trajectory]}


# ----------------------------------------------------------------------- pipeline


def run_torch(variant: str, train_data, val_data, args: argparse.Namespace, *, seed: int,
              macs_target: float) -> dict:
    """One PyTorch + Torch-Pruning pipeline run of `variant` with this seed and MACs target."""
    torch.manual_seed(seed)
    t_total = time.perf_counter()
    model = Net(variant)
    example = train_data[0][:1].clone()  # [1, 1, 28, 28]
    stages = []
    load = OtherLoad()

    def record(name: str, seconds: float, acc: float, **extra) -> None:
        macs, params = count(model, example)
        row = {"stage": name, "accuracy": acc, "params": params, "macs": macs, "seconds": seconds,
               "conv_widths": conv_widths(model), **extra}
        stages.append(row)
        log(f"  [{variant}] {name}: acc {acc:.4f}, params {params:,}, MACs {macs:,}, {seconds:.1f} s")

    def timed_train(name: str, **kw):
        log(f"  [{variant}] {name} ...")
        t = time.perf_counter()
        hist = train(model, train_data, label=name, **kw)
        acc = evaluate(model, val_data)
        return time.perf_counter() - t, acc, hist

    sec, acc, hist = timed_train("baseline", epochs=args.epochs, lr=0.05, warmup_epochs=0, seed=seed + 1)
    record("baseline", sec, acc, history=hist)

    sec, acc, hist = timed_train("sparse", epochs=args.epochs, lr=0.05, warmup_epochs=0, seed=seed + 2,
                                 l1_lambda=l1_lambda_for(args, variant))
    record("sparse", sec, acc, history=hist)

    log(f"  [{variant}] pruned ...")
    t = time.perf_counter()
    info = prune_to_macs(model, example, args, macs_target)
    acc = evaluate(model, val_data)
    record("pruned", time.perf_counter() - t, acc, **info)

    sec, acc, hist = timed_train("retrained", epochs=args.epochs, lr=RETRAIN_LR, warmup_epochs=1, seed=seed + 4)
    record("retrained", sec, acc, history=hist)

    total = time.perf_counter() - t_total
    other = load.cores()
    if other is not None and other > OTHER_LOAD_WARN:
        log(f"  warning: other processes kept {other:.2f} CPUs busy during the PyTorch run; times are noisy")
    return {"variant": variant, "stages": stages, "total_seconds": total, "other_cores_busy": other}


def parse_pipeline_json(text: str) -> dict:
    """The last JSON object in `text` with the key 'stages' (log lines around it are tolerated)."""
    found = parse_json_object(text, "stages")
    by_name = {}
    for s in found["stages"]:
        by_name[s["stage"]] = {
            **s,
            "accuracy": float(s["accuracy"]), "params": int(s["params"]),
            "macs": int(s["macs"]), "seconds": float(s["seconds"]),
        }
    missing = [n for n in STAGE_NAMES if n not in by_name]
    if missing:
        raise ValueError(f"stages missing from the JSON: {', '.join(missing)}")
    found["stages"] = [by_name[n] for n in STAGE_NAMES] + [s for k, s in by_name.items() if k not in STAGE_NAMES]
    found["total_seconds"] = float(found.get("total_seconds", sum(by_name[n]["seconds"] for n in STAGE_NAMES)))
    return found


def shell_word_end(cmd: str, start: int) -> int:
    """The index just past the shell word of `cmd` that starts at `start` (== start when
    cmd[start] is a blank or an operator). Follows quotes, backslash escapes, `...`,
    $(...) and ${...}; an unquoted blank or one of ;&|<>() outside $(...) ends the word."""
    i, depth, quote = start, 0, None
    while i < len(cmd):
        c = cmd[i]
        if quote == "'":
            quote = None if c == "'" else quote
        elif c == "\\":
            i += 1  # the escaped character belongs to the word
        elif quote:
            quote = None if c == quote else quote
        elif c in "'\"`":
            quote = c
        elif cmd.startswith(("$(", "${"), i):
            depth, i = depth + 1, i + 1
        elif depth and c in "({":
            depth += 1
        elif depth and c in ")}":
            depth -= 1
        elif not depth and (c.isspace() or c in ";&|<>()"):
            break
        i += 1
    return min(i, len(cmd))


def shell_words(cmd: str) -> list[tuple[int, int]]:
    """(start, end) of every shell word of `cmd`, in order (blanks and operators skipped)."""
    spans, i = [], 0
    while i < len(cmd):
        end = shell_word_end(cmd, i)
        if end > i:
            spans.append((i, end))
        i = max(end, i + 1)
    return spans


def run_suffix(variant: str, macs_target: float, seed: int) -> str:
    """The per-run folder name: 'vgg-t0.3-s1'."""
    return f"{variant}-t{macs_target!r}-s{seed}"


def with_run_folder(cmd: str, suffix: str, temp_root: Callable[[], str]) -> str:
    """`cmd` with every `-o DIR`, `--output DIR` and `--output=DIR` turned into DIR/suffix;
    a `cmd` without one gets ` -o ROOT/suffix` appended, ROOT = temp_root()."""
    words = shell_words(cmd)
    ends = []  # where each output folder's word ends
    for k, (start, end) in enumerate(words):
        word = cmd[start:end]
        if word.startswith("--output=") and len(word) > len("--output="):
            ends.append(end)
        elif word in ("-o", "--output") and k + 1 < len(words):
            ends.append(words[k + 1][1])
    if not ends:
        return f"{cmd} -o {shlex.quote(os.path.join(temp_root(), suffix))}"
    for end in reversed(ends):
        cmd = cmd[:end] + ("" if cmd[end - 1] == "/" else "/") + suffix + cmd[end:]
    return cmd


def temp_root_once() -> Callable[[], str]:
    """A function returning one fresh temporary folder, made (and logged) on its first call."""
    made: list[str] = []

    def root() -> str:
        if not made:
            made.append(tempfile.mkdtemp(prefix="surgeon-benchmark-"))
            log(f"surgeon run folders go under {made[0]}")
        return made[0]

    return root


def run_surgeon(cmd: str, variant: str, seed: int, macs_target: float, round_to: int, timeout: float) -> dict:
    """One surgeon run: `cmd --variant V --seed S --target-macs F --round-to N --json` through
    the shell (`cmd` already holding this run's folder, see with_run_folder)."""
    full = (f"{cmd} --variant {shlex.quote(variant)} --seed {seed} --target-macs {macs_target!r} "
            f"--round-to {round_to} --json")
    log(f"  $ {full}")
    t = time.perf_counter()
    try:
        proc = subprocess.run(full, shell=True, stdout=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"error: surgeon command timed out after {timeout:g} s: {full}")
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"error: surgeon command exited with status {proc.returncode}: {full}\nstdout:\n{proc.stdout}")
    try:
        obj = parse_pipeline_json(proc.stdout)
    except (ValueError, TypeError, KeyError) as e:
        raise SystemExit(f"error: {e}: {full}\nstdout:\n{proc.stdout}")
    obj["process_wall_seconds"] = wall
    for s in obj["stages"]:
        if s["stage"] in STAGE_NAMES:
            log(f"  [{variant}] surgeon {s['stage']}: acc {s['accuracy']:.4f}, params {s['params']:,}, "
                f"MACs {s['macs']:,}, {s['seconds']:.1f} s")
    return obj


def summary(run: dict) -> dict:
    """One run's key figures."""
    st = {s["stage"]: s for s in run["stages"]}
    return {
        "final_accuracy": st["retrained"]["accuracy"],
        "pruned_accuracy": st["pruned"]["accuracy"],
        "macs_before": st["baseline"]["macs"],
        "macs_after": st["retrained"]["macs"],
        "macs_ratio": st["retrained"]["macs"] / st["baseline"]["macs"],
        "params_ratio": st["retrained"]["params"] / st["baseline"]["params"],
        "total_seconds": run["total_seconds"],
    }


def aggregate(summaries: list[dict]) -> dict:
    """Mean and minimum over the seeds of one tool's run summaries (of one variant and MACs target)."""
    final = [s["final_accuracy"] for s in summaries]
    pruned = [s["pruned_accuracy"] for s in summaries]
    return {
        "runs": len(summaries),
        "final_accuracy_mean": statistics.fmean(final), "final_accuracy_min": min(final),
        "pruned_accuracy_mean": statistics.fmean(pruned), "pruned_accuracy_min": min(pruned),
        "macs_ratio_mean": statistics.fmean(s["macs_ratio"] for s in summaries),
        "total_seconds_mean": statistics.fmean(s["total_seconds"] for s in summaries),
    }


def summarize(results: list[dict]) -> list[dict]:
    """One row per variant x MACs target, in run order: each tool's aggregate over the seeds and,
    when surgeon ran too, its mean final accuracy minus Torch-Pruning's in percentage points."""
    groups: dict[tuple[str, float], list[dict]] = {}
    for e in results:
        groups.setdefault((e["variant"], e["macs_target"]), []).append(e)
    rows = []
    for (variant, target), entries in groups.items():
        row = {"variant": variant, "macs_target": target, "seeds": [e["seed"] for e in entries],
               "torch": aggregate([e["torch_summary"] for e in entries])}
        if all("surgeon_summary" in e for e in entries):
            row["surgeon"] = aggregate([e["surgeon_summary"] for e in entries])
            row["surgeon_minus_torch_final_points"] = 100 * (
                row["surgeon"]["final_accuracy_mean"] - row["torch"]["final_accuracy_mean"])
        rows.append(row)
    return rows


# ------------------------------------------------------------------------- output


def fmt_table(torch_run: dict, surgeon_run: dict | None) -> str:
    def cells(s: dict) -> list[str]:
        return [f"{s['accuracy']:.4f}", f"{s['params']:,}", f"{s['macs']:,}", f"{s['seconds']:.1f}"]

    header = ["stage"]
    if surgeon_run:
        header += ["surgeon acc", "surgeon params", "surgeon MACs", "surgeon s"]
    header += ["torch acc", "torch params", "torch MACs", "torch s"]
    t_st = {s["stage"]: s for s in torch_run["stages"]}
    s_st = {s["stage"]: s for s in surgeon_run["stages"]} if surgeon_run else {}
    body = []
    for name in STAGE_NAMES:
        row = [name]
        if surgeon_run:
            row += cells(s_st[name])
        row += cells(t_st[name])
        body.append(row)
    return aligned(header, body)


def aligned(header: list[str], body: list[list[str]], left: int = 1) -> str:
    """A plain-text table: the first `left` columns left-aligned, the others right-aligned."""
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]

    def line(cs):
        return "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cs, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(b) for b in body])


def markdown(header: list[str], body: list[list[str]], left: int = 1) -> str:
    """A Markdown table: the first `left` columns left-aligned, the others right-aligned."""
    rule = [":--" if i < left else "--:" for i in range(len(header))]
    return "\n".join("| " + " | ".join(cs) + " |" for cs in [header, rule, *body])


def summary_columns(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the summary table (accuracies in %, mean and min over the seeds)."""
    tools = [(name, key) for name, key in (("surgeon", "surgeon"), ("TP", "torch")) if all(key in r for r in rows)]
    header = ["variant", "MACs target"]
    for name, _ in tools:
        header += [f"{name} final % mean", f"{name} final % min", f"{name} pruned % mean", f"{name} pruned % min",
                   f"{name} MACs ratio", f"{name} s"]
    if len(tools) == 2:
        header.append("surgeon - TP (mean final, points)")
    body = []
    for r in rows:
        cells = [r["variant"], f"{r['macs_target']:g}"]
        for _, key in tools:
            a = r[key]
            cells += [f"{100 * a['final_accuracy_mean']:.2f}", f"{100 * a['final_accuracy_min']:.2f}",
                      f"{100 * a['pruned_accuracy_mean']:.2f}", f"{100 * a['pruned_accuracy_min']:.2f}",
                      f"{a['macs_ratio_mean']:.3f}", f"{a['total_seconds_mean']:.1f}"]
        if len(tools) == 2:
            cells.append(f"{r['surgeon_minus_torch_final_points']:+.2f}")
        body.append(cells)
    return header, body


def fmt_summary_table(rows: list[dict], as_markdown: bool = False) -> str:
    header, body = summary_columns(rows)
    return (markdown if as_markdown else aligned)(header, body, left=1)


def fmt_summary(label: str, torch_sum: dict, surgeon_sum: dict | None) -> str:
    parts = []
    for name, s in (("surgeon", surgeon_sum), ("torch", torch_sum)):
        if s is None:
            continue
        parts.append(f"{name}: final acc {s['final_accuracy']:.4f}, MACs {s['macs_after']:,}/{s['macs_before']:,} "
                     f"= {s['macs_ratio']:.3f}, total {s['total_seconds']:.1f} s")
    return f"{label} -- " + "; ".join(parts)


def parse_lambda(text: str) -> tuple[str | None, float]:
    """'3e-2' -> (None, 0.03); 'mobilenetv2=1e-2' -> ('mobilenetv2', 0.01)."""
    variant, _, value = text.rpartition("=")
    if variant and variant not in VARIANTS:
        raise argparse.ArgumentTypeError(f"unknown variant {variant!r} in {text!r}")
    try:
        lam = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}")
    if not lam >= 0:
        raise argparse.ArgumentTypeError(f"lambda must be >= 0, got {lam}")
    return (variant or None, lam)


def l1_lambda_for(args: argparse.Namespace, variant: str) -> float:
    """The last --l1-lambda entry naming `variant`, else the last plain one, else 3e-2."""
    chosen = 3e-2
    entries = args.l1_lambda or []
    for v, lam in entries:
        if v is None:
            chosen = lam
    for v, lam in entries:
        if v == variant:
            chosen = lam
    return chosen


def macs_fraction(text: str) -> float:
    f = float(text)
    if not 0 < f <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return f


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Train -> sparse-train (BN L1) -> prune to a MACs target -> retrain, on the bundled MNIST "
        "subset, with PyTorch + Torch-Pruning and optionally surgeon, for every variant, MACs target and seed; "
        "reports accuracy, parameters, MACs and wall time per stage for both, then a summary over the seeds.",
        epilog="Example: %(prog)s --macs-target 0.5 0.2 --seeds 0 1 --surgeon-cmd '.build/release/surgeon demo "
        "-o runs/bench-NEW' (run through the shell with ' --variant V --seed S --target-macs F --round-to N --json' appended, "
        "-o DIR turned into DIR/V-tF-sS; must print a JSON object with the key 'stages').",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--surgeon-cmd", metavar="CMD",
                   help="shell command running surgeon's pipeline; if omitted, only PyTorch/Torch-Pruning runs. "
                   "Every -o DIR / --output DIR in it becomes DIR/V-tF-sS; without one, -o TMP/V-tF-sS is "
                   "appended, TMP a fresh temporary folder")
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=["vgg", "mobilenetv2"], metavar="V",
                   help=f"variants to run, among {', '.join(VARIANTS)}")
    p.add_argument("--threads", type=positive_int, default=2, help="torch.set_num_threads")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=int, default=0, help="seed for the weights and the shuffling (one run per "
                       "variant and target)")
    seeds.add_argument("--seeds", type=int, nargs="+", default=argparse.SUPPRESS, metavar="S",
                       help="seeds to run, each one a full run per variant and target (default: the --seed value)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with images.npy and labels.npy")
    p.add_argument("--epochs", type=positive_int, default=5, help="epochs of each training stage")
    p.add_argument("--l1-lambda", nargs="+", type=parse_lambda, default=None, metavar="[V=]LAM",
                   help="L1 strength on BN gammas in the sparse stage (3e-2 if not given): LAM for every "
                   "variant, V=LAM for one (e.g. 3e-2 mobilenetv2=1e-2)")
    p.add_argument("--macs-target", nargs="+", type=macs_fraction, default=[0.5], metavar="F",
                   help="MACs targets to run: prune until MACs <= F times the original (e.g. 0.5 0.3 0.2 0.1)")
    p.add_argument("--round-to", type=positive_int, default=8, metavar="N",
                   help="kept channels a multiple of N: Torch-Pruning's round_to and surgeon demo's --round-to")
    p.add_argument("--prune-steps", type=positive_int, default=400,
                   help="Torch-Pruning iterative_steps (pruning_ratio 1.0 spread over this many steps)")
    p.add_argument("--tp-normalizer", choices=["mean", "none"], default="mean",
                   help="BNScaleImportance's normalizer: 'mean' (Torch-Pruning's default) divides each group's "
                   "scores by their mean before the global ranking; 'none' ranks raw |gamma|")
    p.add_argument("--surgeon-timeout", type=float, default=1800.0, help="seconds allowed per surgeon run")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    p.add_argument("--markdown", action="store_true",
                   help="print the summary table as a Markdown table (to stderr with --json)")
    args = p.parse_args(argv)
    args.seeds = getattr(args, "seeds", [args.seed])
    for name, values in (("--macs-target", args.macs_target), ("--seeds", args.seeds), ("--variants", args.variants)):
        if len(set(values)) != len(values):
            p.error(f"{name} lists a value twice (the runs, and surgeon's run folders, would collide)")
    if args.surgeon_cmd and min(args.seeds) < 0:
        p.error("surgeon's --seed must be >= 0")
    return args


def warn_if_busy(cores: int) -> float | None:
    """Other processes' load over one second, with a warning when it is more than OTHER_LOAD_WARN."""
    probe = OtherLoad()
    time.sleep(1.0)
    load = probe.cores()
    if load is not None and load > OTHER_LOAD_WARN:
        log(f"warning: other processes keep {load:.2f} of the {cores} CPUs busy; the times will be noisy")
    return load


def run_all(args: argparse.Namespace, train_data, val_data, tp_version: str) -> list[dict]:
    """Every variant x MACs target x seed: the PyTorch run, then (with --surgeon-cmd) the surgeon run."""
    temp_root = temp_root_once()
    results = []
    for v in args.variants:
        for target in args.macs_target:
            for seed in args.seeds:
                tag = f"[{v} t{target:g} s{seed}]"
                log(f"{tag} PyTorch + Torch-Pruning {tp_version} ...")
                tr = run_torch(v, train_data, val_data, args, seed=seed, macs_target=target)
                entry = {"variant": v, "macs_target": target, "seed": seed, "torch": tr, "torch_summary": summary(tr)}
                if args.surgeon_cmd:
                    log(f"{tag} surgeon ...")
                    cmd = with_run_folder(args.surgeon_cmd, run_suffix(v, target, seed), temp_root)
                    sg = run_surgeon(cmd, v, seed, target, args.round_to, args.surgeon_timeout)
                    entry["surgeon"] = sg
                    entry["surgeon_summary"] = summary(sg)
                results.append(entry)
    return results


def json_report(args: argparse.Namespace, results: list[dict], rows: list[dict], tp_version: str,
                cores: int, load_start: float | None) -> dict:
    return {
        "benchmark": "pipeline_vs_torch_pruning",
        "torch_version": torch.__version__,
        "torch_pruning_version": tp_version,
        "python_version": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": cores,
        "other_cores_busy_at_start": load_start,
        "settings": {
            "threads": args.threads, "seeds": args.seeds, "macs_targets": args.macs_target, "epochs": args.epochs,
            "batch_size": BATCH_SIZE, "train": TRAIN_COUNT, "validation": VALIDATION_COUNT,
            "optimizer": {"type": "sgd", "momentum": MOMENTUM, "nesterov": True, "weight_decay": WEIGHT_DECAY,
                          "weight_decay_on": "conv/linear weights"},
            "stages": {"baseline": {"lr": 0.05, "schedule": "cosine"},
                       "sparse": {"lr": 0.05, "schedule": "cosine", "bn_l1_lambda": {v: l1_lambda_for(args, v) for v in args.variants}},
                       "pruned": {"importance": "BNScaleImportance", "normalizer": args.tp_normalizer,
                                  "pruner": "BNScalePruner", "global_pruning": True, "round_to": args.round_to,
                                  "macs_targets": args.macs_target, "iterative_steps": args.prune_steps},
                       "retrained": {"lr": RETRAIN_LR, "schedule": "cosine", "warmup_epochs": 1}},
            "surgeon_cmd": args.surgeon_cmd,
        },
        "results": results,
        "summary": rows,
    }


def print_tables(args: argparse.Namespace, results: list[dict], rows: list[dict], tp_version: str) -> None:
    print(f"torch {torch.__version__}, torch-pruning {tp_version}, {args.threads} thread(s), "
          f"seed(s) {', '.join(map(str, args.seeds))}; MACs target(s) {', '.join(f'{t:g}' for t in args.macs_target)}; "
          f"MNIST {TRAIN_COUNT} train / {VALIDATION_COUNT} validation; MACs per sample, each tool's own count")
    for e in results:
        label = f"{e['variant']}, MACs target {e['macs_target']:g}, seed {e['seed']}"
        print()
        print(f"{label} (torch side: BN L1 lambda {l1_lambda_for(args, e['variant']):g}, "
              f"BNScaleImportance normalizer {args.tp_normalizer})")
        print(fmt_table(e["torch"], e.get("surgeon")))
        print(fmt_summary(label, e["torch_summary"], e.get("surgeon_summary")))
    print()
    print(f"Summary over {len(args.seeds)} seed(s) ({', '.join(map(str, args.seeds))}); TP = PyTorch + "
          "Torch-Pruning; accuracies in %, 'pruned' right after pruning, 'final' after retraining; MACs ratio "
          "(after/before) and total seconds are means")
    print(fmt_summary_table(rows, as_markdown=args.markdown))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cores = os.cpu_count() or 1
    if args.threads > cores:
        log(f"warning: {args.threads} threads requested but only {cores} CPUs are visible")
    load_start = warn_if_busy(cores)

    train_data, val_data = load_mnist(args.data)
    tp_version = importlib.metadata.version("torch-pruning")
    results = run_all(args, train_data, val_data, tp_version)
    rows = summarize(results)

    if args.json:
        print(json.dumps(json_report(args, results, rows, tp_version, cores, load_start), indent=2))
        if args.markdown:
            log(fmt_summary_table(rows, as_markdown=True))
    else:
        print_tables(args, results, rows, tp_version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
