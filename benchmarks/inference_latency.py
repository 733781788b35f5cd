#!/usr/bin/env python3
"""Inference latency of surgeon against onnxruntime, and a pruned model's
latency speed-up against its MACs speed-up.

The project's inference targets: at batch 1 and batch 64, surgeon's latency on
a model is at least as good as onnxruntime's on the same model (the ratio
onnxruntime ms / surgeon ms is >= 1.0), and a pruned model's latency speed-up
over its baseline is at least 0.8 of its MACs speed-up (surgeon's latency
speed-up / MACs speed-up >= 0.8).

For every model file given (``.surgeon``, or any format ``surgeon convert``
reads), thread count (``--threads``) and batch size (``--batch-sizes``), the
script measures the median latency of one inference of one batch with
onnxruntime and with ``surgeon-bench infer``, interleaved -- for each thread
count and batch size, model after model: onnxruntime, then surgeon -- so that
machine noise hits all sides alike. It prints one table with both latencies,
their ratio and the model's MACs per sample, then, for every baseline/pruned
pair, a table of the MACs speed-up, each runtime's latency speed-up and the
ratio of the two; ``--json`` prints everything instead, every repeat too.
``--rounds N`` runs the whole sweep N times and reports each cell's median
over the rounds (a shared machine's noise comes in bursts of seconds, longer
than one measurement; every round's figure is in the JSON).

How to run it (from the repository root)::

    # 1. A virtualenv OUTSIDE the repository with onnxruntime (and numpy; onnx
    #    is optional: with it the converted file is also run through
    #    onnx.checker):
    python3 -m venv /work/venv-bench
    /work/venv-bench/bin/pip install -r benchmarks/requirements.txt

    # 2. Build surgeon in release mode:
    swift build -c release

    # 3. A demo run's baseline and pruned models, all variants it holds:
    /work/venv-bench/bin/python benchmarks/inference_latency.py --run-dir runs/demo
    # ... one variant, one thread, fewer repeats:
    /work/venv-bench/bin/python benchmarks/inference_latency.py --run-dir runs/demo \\
        --variants vgg --threads 1 --repeats 21 64=5
    # Model files; --pair makes the 1st the baseline of the 2nd (3rd of 4th, ...):
    /work/venv-bench/bin/python benchmarks/inference_latency.py --pair \\
        runs/demo/vgg/01-train/model.surgeon runs/demo/vgg/04-retrain/model.surgeon --json

``--run-dir DIR`` takes the output folder of ``surgeon demo`` (or of
``surgeon run``): one subfolder per variant (``vgg/``, ``res/``,
``mobilenetv2/``; DIR itself when it is a variant's folder), each with
numbered stage folders (``01-train/``, ``02-sparse/``, ``03-prune/``,
``04-retrain/``, ``05-eval/``). A variant's baseline is its first ``NN-train``
stage's ``model.surgeon`` (``01-train``), its pruned model the
``model.surgeon`` of its last ``NN-retrain`` or ``NN-prune`` stage that has
one (``04-retrain``, else ``03-prune``). ``--variants`` picks among the
variants found. Positional models and ``--run-dir`` can be combined.

onnxruntime side: each model is converted once, with
``surgeon convert MODEL TMP/x.onnx --fold-batchnorm`` (BatchNorm folded into
the convolutions, the graph surgeon itself runs; the temporary folder is
deleted at the end unless ``--keep-onnx DIR`` names a folder to keep the files
in). Each measurement makes a fresh ``InferenceSession`` (CPUExecutionProvider;
``intra_op_num_threads`` T, ``inter_op_num_threads`` 1, sequential execution,
graph optimisations at their default ``ORT_ENABLE_ALL``, other options at
their defaults), feeds a seeded uniform [0, 1) float32 input of the model's
input shape with the batch axis (the first) set to B -- the shape comes from
the ONNX file, NCHW or NHWC as it was written -- through an IOBinding with
pre-allocated outputs (the least Python overhead per call), runs ``--warmup``
untimed inferences, then times ``--repeats`` inferences one by one with
``time.perf_counter``. The session is deleted before surgeon runs, so that
none of its threads is left spinning.

surgeon side: ``SURGEON_BENCH infer --model MODEL --threads T --batch-size B
--repeats R --json`` (3 untimed warm-up batches, then R timed ones, in
surgeon's inference form: BatchNorm folded, activations fused). Its JSON
(``milliseconds``, ``macs`` per sample, ``peak_resident_bytes``,
``repeats_milliseconds``, ...) is kept whole in ``--json``. Its MACs count is
the one used for the MACs speed-up, for both runtimes.

The latency figure of both sides is the median as surgeon-bench computes it,
the ``R // 2``-th of the sorted times (the true median for the odd default
repeat counts). ``--repeats`` takes a count for every batch size (``21``),
per-batch counts (``1=101 64=5``), or both (the per-batch ones win); the
defaults are 51 for batches below 16, 21 below 64 and 11 from 64 on.
PyTorch is not measured.

Run it on an otherwise idle machine: with 2 cores, any other busy process
makes the figures (the 2-thread ones above all) swing widely. The script
measures how many cores other processes kept busy (from /proc/stat, minus this
process's and its children's own CPU time), warns when that is more than a
fifth of a core -- at the start (over one second) and for each pair of
onnxruntime and surgeon measurements -- marks such rows in the table with
``!`` and records the figure in ``--json`` (``other_cores_busy``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmark_support import OtherLoad, parse_json_object

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SURGEON = REPO / ".build" / "release" / "surgeon"
DEFAULT_SURGEON_BENCH = REPO / ".build" / "release" / "surgeon-bench"
VARIANTS = ("mobilenetv2", "res", "vgg")  # surgeon demo's variants, in its order
OTHER_LOAD_WARN = 0.2  # cores kept busy by other processes that earn a warning
LATENCY_TARGET = 1.0  # onnxruntime ms / surgeon ms, at least
SPEEDUP_TARGET = 0.8  # latency speed-up / MACs speed-up, at least
STAGE_RE = re.compile(r"^(\d+)-(.+)$")  # surgeon's stage folders: "%02d-name"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ other load
# surgeon runs in child processes here, so their CPU time is subtracted too (OtherLoad(children=True)).


def warn_if_busy(load: float | None, what: str) -> None:
    if load is not None and load > OTHER_LOAD_WARN:
        log(f"  warning: other processes kept {load:.2f} CPUs busy during {what}")


# ---------------------------------------------------------------------- models


class Model:
    """One model file to measure, and where it comes from."""

    def __init__(self, path: Path, label: str, variant: str | None = None, role: str | None = None,
                 stage: str | None = None) -> None:
        self.path = path
        self.label = label
        self.variant = variant
        self.role = role  # "baseline", "pruned" or None
        self.stage = stage
        self.onnx_path: Path | None = None
        self.convert_report: dict | None = None
        self.onnx_error: str | None = None
        self.onnx_check_error: str | None = None
        self.input_name: str | None = None
        self.input_shape: list | None = None  # as the ONNX file states it

    def to_json(self) -> dict:
        return {
            "label": self.label, "path": str(self.path), "variant": self.variant, "role": self.role,
            "stage": self.stage, "onnx_path": str(self.onnx_path) if self.onnx_path else None,
            "convert": self.convert_report, "onnx_error": self.onnx_error,
            "onnx_check_error": self.onnx_check_error, "onnx_input_name": self.input_name,
            "onnx_input_shape": self.input_shape,
        }


def stage_folders(folder: Path) -> list[tuple[int, str, Path]]:
    """(number, name, path) of the stage folders in a run folder, by number."""
    found = []
    for p in folder.iterdir() if folder.is_dir() else ():
        m = STAGE_RE.match(p.name)
        if m and p.is_dir():
            found.append((int(m.group(1)), m.group(2), p))
    return sorted(found)


def run_dir_models(run_dir: Path, wanted: list[str] | None) -> tuple[list[Model], list[tuple[Model, Model]]]:
    """The baseline and pruned model of every variant of a `surgeon demo`
    output folder (see the module docstring)."""
    if not run_dir.is_dir():
        raise SystemExit(f"error: --run-dir {run_dir}: not a folder")
    if stage_folders(run_dir):  # a variant's folder itself
        candidates = [(run_dir.name, run_dir)]
    else:
        candidates = sorted(((p.name, p) for p in run_dir.iterdir() if p.is_dir() and stage_folders(p)),
                            key=lambda c: (VARIANTS.index(c[0]) if c[0] in VARIANTS else len(VARIANTS), c[0]))
    if not candidates:
        raise SystemExit(f"error: --run-dir {run_dir}: no variant folders with stage folders (01-train/ ...) in it")
    found = [name for name, _ in candidates]
    if wanted:
        missing = [v for v in wanted if v not in found]
        if missing:
            raise SystemExit(f"error: --variants {' '.join(missing)}: not in {run_dir} (found: {', '.join(found)})")
        candidates = [c for c in candidates if c[0] in wanted]
    models, pairs = [], []
    for name, folder in candidates:
        stages = [(n, s, p) for n, s, p in stage_folders(folder) if (p / "model.surgeon").is_file()]
        base = next(((s, p) for n, s, p in stages if s == "train"), None)
        pruned = [(s, p) for n, s, p in stages if s in ("retrain", "prune")]
        if base is None:
            log(f"warning: {folder}: no NN-train/model.surgeon; variant {name} skipped")
            continue
        bm = Model(base[1] / "model.surgeon", f"{name} baseline", name, "baseline", base[1].name)
        models.append(bm)
        if not pruned:
            log(f"warning: {folder}: no NN-retrain/ or NN-prune/ model.surgeon; {name} has no pruned model")
            continue
        pm = Model(pruned[-1][1] / "model.surgeon", f"{name} pruned", name, "pruned", pruned[-1][1].name)
        models.append(pm)
        pairs.append((bm, pm))
    return models, pairs


def short_labels(paths: list[Path]) -> list[str]:
    """Labels for positional models: the paths below their common folder."""
    if len(paths) == 1:
        return [paths[0].name]
    resolved = [p.resolve() for p in paths]
    common = Path(os.path.commonpath([str(p.parent) for p in resolved]))
    labels = [str(p.relative_to(common)) for p in resolved]
    if len({p.name for p in resolved}) == 1 and all(p.parent != common for p in resolved):
        labels = [str(p.parent.relative_to(common)) for p in resolved]  # vgg/01-train/model.surgeon -> 01-train
    return labels if len(set(labels)) == len(labels) else [str(p) for p in paths]


# ------------------------------------------------------------------- surgeon


def check_binary(path: Path, option: str) -> None:
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise SystemExit(f"error: {option} {path}: no executable there (build it with `swift build -c release`)")


def convert_to_onnx(surgeon: Path, model: Model, folder: Path, index: int, timeout: float) -> None:
    """`surgeon convert MODEL folder/NN-name.onnx --fold-batchnorm`; sets
    model.onnx_path, or model.onnx_error with surgeon's exact message."""
    out = folder / f"{index:02d}-{re.sub(r'[^A-Za-z0-9._-]+', '_', model.label)}.onnx"
    cmd = [str(surgeon), "convert", str(model.path), str(out), "--fold-batchnorm", "--json"]
    log(f"  $ {' '.join(cmd)}")
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        model.onnx_error = f"surgeon convert timed out after {timeout:g} s"
    else:
        if proc.stderr.strip():
            log(proc.stderr.rstrip())
        if proc.returncode != 0:
            model.onnx_error = (f"surgeon convert exited with status {proc.returncode}: "
                                f"{(proc.stderr or proc.stdout).strip()}")
        elif not out.is_file():
            model.onnx_error = f"surgeon convert succeeded but wrote no {out}"
        else:
            model.onnx_path = out
            try:
                model.convert_report = parse_json_object(proc.stdout, "output")
            except ValueError:
                model.convert_report = None
    if model.onnx_error:
        log(f"  error: {model.label}: {model.onnx_error}; onnxruntime will not be measured on it")


def bench_surgeon(bench: Path, model: Model, threads: int, batch: int, repeats: int, timeout: float) -> dict:
    cmd = [str(bench), "infer", "--model", str(model.path), "--threads", str(threads), "--batch-size", str(batch),
           "--repeats", str(repeats), "--json"]
    log(f"  $ {' '.join(cmd)}")
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"error: surgeon-bench timed out after {timeout:g} s: {' '.join(cmd)}")
    if proc.returncode != 0:
        raise SystemExit(f"error: surgeon-bench exited with status {proc.returncode}: {' '.join(cmd)}\n"
                         f"stdout:\n{proc.stdout}")
    try:
        obj = parse_json_object(proc.stdout, "milliseconds")
        obj["milliseconds"] = float(obj["milliseconds"])
        obj["macs"] = int(obj["macs"]) if obj.get("macs") is not None else None
    except (ValueError, TypeError) as e:
        raise SystemExit(f"error: {e}: {' '.join(cmd)}\nstdout:\n{proc.stdout}")
    return obj


# --------------------------------------------------------------- onnxruntime


def onnx_check(model: Model) -> None:
    """onnx.checker on the converted file, when the onnx package is there."""
    try:
        import onnx
    except ImportError:
        return
    try:
        onnx.checker.check_model(onnx.load(str(model.onnx_path)), full_check=True)
    except Exception as e:  # noqa: BLE001 -- any complaint is worth reporting
        model.onnx_check_error = f"{type(e).__name__}: {e}"
        log(f"  warning: onnx.checker rejects {model.onnx_path} ({model.label}): {model.onnx_check_error}")


def make_session(ort, path: Path, threads: int):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # graph_optimization_level left at its default, ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def read_onnx_input(ort, model: Model) -> None:
    """The input's name and shape as the ONNX file states them; sets
    model.onnx_error when onnxruntime refuses the file."""
    try:
        sess = make_session(ort, model.onnx_path, 1)
    except Exception as e:  # noqa: BLE001
        model.onnx_error = f"onnxruntime refused the file: {type(e).__name__}: {e}"
        log(f"  error: {model.label}: {model.onnx_error}")
        return
    inputs = sess.get_inputs()
    if len(inputs) != 1:
        model.onnx_error = f"{len(inputs)} inputs ({', '.join(i.name for i in inputs)}); expected one"
    elif inputs[0].type != "tensor(float)":
        model.onnx_error = f"input {inputs[0].name} is {inputs[0].type}, not tensor(float)"
    elif len(inputs[0].shape) < 2 or not all(isinstance(d, int) and d > 0 for d in inputs[0].shape[1:]):
        model.onnx_error = f"input {inputs[0].name} has shape {inputs[0].shape}: non-batch axes must be fixed"
    if model.onnx_error:
        log(f"  error: {model.label}: {model.onnx_error}")
        return
    model.input_name = inputs[0].name
    model.input_shape = list(inputs[0].shape)
    log(f"  {model.label}: onnx input {model.input_name} {model.input_shape}")


def bench_onnxruntime(ort, np, model: Model, threads: int, batch: int, repeats: int, warmup: int,
                      seed: int) -> dict:
    """Median latency (ms) of one inference of a batch of `batch`."""
    shape = [batch] + list(model.input_shape[1:])
    x = np.random.default_rng(seed).random(shape, dtype=np.float32)
    t0 = time.perf_counter()
    sess = make_session(ort, model.onnx_path, threads)
    session_seconds = time.perf_counter() - t0
    try:
        outputs = sess.run(None, {model.input_name: x})  # also the first warm-up run
        binding = sess.io_binding()
        binding.bind_ortvalue_input(model.input_name, ort.OrtValue.ortvalue_from_numpy(x))
        out_values = [ort.OrtValue.ortvalue_from_numpy(np.empty_like(o)) for o in outputs]
        for meta, value in zip(sess.get_outputs(), out_values):
            binding.bind_ortvalue_output(meta.name, value)
        for _ in range(max(warmup - 1, 0)):
            sess.run_with_iobinding(binding)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            sess.run_with_iobinding(binding)
            times.append((time.perf_counter() - start) * 1000.0)
    finally:
        del sess  # joins its threads before surgeon runs
    return {
        "milliseconds": sorted(times)[len(times) // 2],
        "repeats_milliseconds": times,
        "input_shape": shape,
        "session_seconds": session_seconds,
    }


# ---------------------------------------------------------------- arguments


def positive_int(s: str) -> int:
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def parse_repeats(text: str) -> tuple[int | None, int]:
    """'21' -> (None, 21); '64=5' -> (64, 5)."""
    batch, _, count = text.rpartition("=")
    try:
        b = positive_int(batch) if batch else None
        return b, positive_int(count)
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(f"expected R or B=R (positive integers), got {text!r}")


def default_repeats(batch: int) -> int:
    return 51 if batch < 16 else 21 if batch < 64 else 11


def repeats_for(entries: list[tuple[int | None, int]] | None, batch: int) -> int:
    """The last B=R entry for `batch`, else the last plain R, else the default."""
    chosen = None
    for b, r in entries or []:
        if b is None:
            chosen = r
    for b, r in entries or []:
        if b == batch:
            chosen = r
    return chosen if chosen is not None else default_repeats(batch)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except None ones (the help text says what those mean)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return action.help if action.default in (None, False) else super()._get_help_string(action)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Median inference latency of surgeon (surgeon-bench infer) and onnxruntime on the same "
        "models, interleaved, at several thread counts and batch sizes; the ratio onnxruntime/surgeon (target "
        f">= {LATENCY_TARGET:g}) and, for baseline/pruned pairs, latency speed-up over MACs speed-up (target "
        f">= {SPEEDUP_TARGET:g}).",
        epilog="Example: %(prog)s --run-dir runs/demo --variants vgg res. Progress goes to stderr; the tables, "
        "or the JSON with --json, to stdout.",
        formatter_class=_HelpFormatter,
    )
    p.add_argument("models", nargs="*", type=Path, metavar="MODEL",
                   help="model files (.surgeon, or what surgeon convert reads)")
    p.add_argument("--run-dir", type=Path, metavar="DIR",
                   help="a `surgeon demo` output folder: each variant's 01-train model (baseline) and its last "
                   "NN-retrain or NN-prune model (pruned)")
    p.add_argument("--variants", nargs="+", metavar="V",
                   help="with --run-dir: the variants to measure among those found (default: all found)")
    p.add_argument("--pair", action="store_true",
                   help="pair the positional models: the 1st is the baseline of the 2nd, the 3rd of the 4th, ...")
    p.add_argument("--threads", nargs="+", type=positive_int, default=[1, 2], metavar="T",
                   help="thread counts (onnxruntime intra_op_num_threads, surgeon-bench --threads)")
    p.add_argument("--batch-sizes", nargs="+", type=positive_int, default=[1, 64], metavar="B",
                   help="batch sizes")
    p.add_argument("--repeats", nargs="+", type=parse_repeats, default=None, metavar="[B=]R",
                   help="timed inferences per measurement: R for every batch size and/or B=R for batch B "
                   "(default: 51 below batch 16, 21 below 64, 11 from 64)")
    p.add_argument("--rounds", type=positive_int, default=1, metavar="N",
                   help="run the whole interleaved sweep N times and report each cell's median over the rounds "
                   "(a shared machine's noise comes in bursts longer than one measurement)")
    p.add_argument("--warmup", type=int, default=3,
                   help="untimed onnxruntime inferences before the timed ones (surgeon-bench does 3)")
    p.add_argument("--seed", type=int, default=7, help="seed of onnxruntime's random input")
    p.add_argument("--surgeon-bench", type=Path, default=DEFAULT_SURGEON_BENCH, metavar="PATH",
                   help="the surgeon-bench executable")
    p.add_argument("--surgeon", type=Path, default=DEFAULT_SURGEON, metavar="PATH",
                   help="the surgeon executable (for surgeon convert)")
    p.add_argument("--keep-onnx", type=Path, metavar="DIR",
                   help="write the converted .onnx files into DIR (created) and keep them (default: a temporary "
                   "folder, deleted at the end)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per surgeon or surgeon-bench run")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    args = p.parse_args(argv)
    if not args.models and args.run_dir is None:
        p.error("give model files, --run-dir DIR, or both")
    if args.variants and args.run_dir is None:
        p.error("--variants needs --run-dir")
    if args.pair and len(args.models) < 2:
        p.error("--pair needs at least two positional models")
    for m in args.models:
        if not m.is_file():
            p.error(f"{m}: no such file")
    args.threads = list(dict.fromkeys(args.threads))
    args.batch_sizes = list(dict.fromkeys(args.batch_sizes))
    args.variants = list(dict.fromkeys(args.variants)) if args.variants else None
    return args


# ------------------------------------------------------------------- output


def aligned(header: list[str], body: list[list[str]], left: int = 1) -> str:
    """A plain-text table: the first `left` columns left-aligned, the others right-aligned."""
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]

    def line(cs: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cs, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(b) for b in body])


def num(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def busy_mark(load: float | None) -> str:
    return "!" if load is not None and load > OTHER_LOAD_WARN else ""


def latency_table(results: list[dict]) -> str:
    header = ["model", "threads", "batch", "repeats", "surgeon ms", "onnxrt ms", "onnxrt/surgeon", "MACs/sample",
              "busy"]
    body = []
    for r in results:
        ort_r = r["onnxruntime"]
        body.append([
            r["model"], str(r["threads"]), str(r["batch_size"]), str(r["repeats"]),
            num(r["surgeon"]["milliseconds"], ".3f"),
            num(ort_r.get("milliseconds") if ort_r else None, ".3f"),
            num(r["onnxruntime_over_surgeon"], ".3f"),
            num(r["macs"], ",") if r["macs"] is not None else "-",
            busy_mark(r["other_cores_busy"]),
        ])
    return aligned(header, body)


def speedup_table(rows: list[dict]) -> str:
    header = ["pair", "threads", "batch", "MACs x", "surgeon x", "surgeon x/MACs x", "onnxrt x", "onnxrt x/MACs x"]
    body = []
    for r in rows:
        body.append([
            r["pair"], str(r["threads"]), str(r["batch_size"]), num(r["macs_speedup"], ".3f"),
            num(r["surgeon"]["latency_speedup"], ".3f"), num(r["surgeon"]["ratio_to_macs_speedup"], ".3f"),
            num(r["onnxruntime"]["latency_speedup"], ".3f"), num(r["onnxruntime"]["ratio_to_macs_speedup"], ".3f"),
        ])
    return aligned(header, body)


def verdicts(results: list[dict], rows: list[dict]) -> list[str]:
    out = []
    lat = [r["onnxruntime_over_surgeon"] for r in results if r["onnxruntime_over_surgeon"] is not None]
    if lat:
        ok = sum(x >= LATENCY_TARGET for x in lat)
        out.append(f"latency target (onnxrt/surgeon >= {LATENCY_TARGET:g}): met in {ok} of {len(lat)} rows "
                   f"(min {min(lat):.3f})")
    sp = [r["surgeon"]["ratio_to_macs_speedup"] for r in rows if r["surgeon"]["ratio_to_macs_speedup"] is not None]
    if sp:
        ok = sum(x >= SPEEDUP_TARGET for x in sp)
        out.append(f"speed-up target (surgeon x/MACs x >= {SPEEDUP_TARGET:g}): met in {ok} of {len(sp)} rows "
                   f"(min {min(sp):.3f})")
    return out


# --------------------------------------------------------------------- main


def speedup(base: float | None, pruned: float | None) -> float | None:
    return base / pruned if base and pruned else None


def speedup_rows(pairs: list[tuple[Model, Model]], results: list[dict]) -> list[dict]:
    by_key = {(r["model"], r["threads"], r["batch_size"]): r for r in results}
    rows = []
    for base, pruned in pairs:
        name = base.variant if base.variant and base.variant == pruned.variant else f"{base.label} -> {pruned.label}"
        for (label, t, b), rb in by_key.items():
            if label != base.label:
                continue
            rp = by_key.get((pruned.label, t, b))
            if rp is None:
                continue
            macs_x = speedup(rb["macs"], rp["macs"])
            row = {"pair": name, "baseline": base.label, "pruned": pruned.label, "threads": t, "batch_size": b,
                   "baseline_macs": rb["macs"], "pruned_macs": rp["macs"], "macs_speedup": macs_x}
            for side in ("surgeon", "onnxruntime"):
                ms_b = (rb[side] or {}).get("milliseconds")
                ms_p = (rp[side] or {}).get("milliseconds")
                lat_x = speedup(ms_b, ms_p)
                row[side] = {"baseline_milliseconds": ms_b, "pruned_milliseconds": ms_p, "latency_speedup": lat_x,
                             "ratio_to_macs_speedup": lat_x / macs_x if lat_x and macs_x else None}
            rows.append(row)
    return rows


def run(args: argparse.Namespace, ort, np, models: list[Model], onnx_dir: Path) -> list[dict]:
    log("converting to ONNX (BatchNorm folded) ...")
    for i, m in enumerate(models):
        convert_to_onnx(args.surgeon, m, onnx_dir, i + 1, args.timeout)
        if m.onnx_path is not None:
            onnx_check(m)
            read_onnx_input(ort, m)

    rounds: dict[tuple[str, int, int], list[dict]] = {}
    for rnd in range(args.rounds):
        if args.rounds > 1:
            log(f"== round {rnd + 1} of {args.rounds}")
        for row in sweep(args, ort, np, models):
            rounds.setdefault((row["model"], row["threads"], row["batch_size"]), []).append(row)
    return [merge_rounds(rows) for rows in rounds.values()]


def merge_rounds(rows: list[dict]) -> dict:
    """One cell over the rounds: each side's median of its per-round medians (every round's
    figure kept under "rounds"), the ratio of those, the busiest round's load."""
    row = dict(rows[0])
    if len(rows) == 1:
        return row
    def med(side: str) -> float | None:
        values = [r[side]["milliseconds"] for r in rows if r.get(side)]
        return statistics.median(values) if values else None
    row["rounds"] = {side: [r[side]["milliseconds"] if r.get(side) else None for r in rows]
                     for side in ("surgeon", "onnxruntime")}
    row["surgeon"] = dict(rows[0]["surgeon"], milliseconds=med("surgeon"))
    if row.get("onnxruntime"):
        row["onnxruntime"] = dict(rows[0]["onnxruntime"], milliseconds=med("onnxruntime"))
    loads = [r["other_cores_busy"] for r in rows if r.get("other_cores_busy") is not None]
    row["other_cores_busy"] = max(loads) if loads else None
    ort_ms = row["onnxruntime"]["milliseconds"] if row.get("onnxruntime") else None
    row["onnxruntime_over_surgeon"] = (ort_ms / row["surgeon"]["milliseconds"]
                                       if ort_ms is not None and row["surgeon"]["milliseconds"] > 0 else None)
    return row


def sweep(args: argparse.Namespace, ort, np, models: list[Model]) -> list[dict]:
    """Every thread count, batch size and model once, onnxruntime then surgeon per cell."""
    results = []
    for t in args.threads:
        for b in args.batch_sizes:
            repeats = repeats_for(args.repeats, b)
            for m in models:
                tag = f"[{m.label}, {t} thread(s), batch {b}]"
                row: dict = {"model": m.label, "threads": t, "batch_size": b, "repeats": repeats,
                             "onnxruntime": None, "onnxruntime_error": None}
                # Over both measurements: /proc/stat counts in 10 ms ticks, and a batch-1
                # onnxruntime measurement lasts a few ms; surgeon-bench's start-up adds a few 100 ms.
                load = OtherLoad(children=True)
                if m.input_shape is not None:
                    log(f"{tag} onnxruntime ...")
                    try:
                        o = bench_onnxruntime(ort, np, m, t, b, repeats, args.warmup, args.seed)
                    except Exception as e:  # noqa: BLE001 -- reported, the run goes on
                        row["onnxruntime_error"] = f"{type(e).__name__}: {e}"
                        log(f"  error: onnxruntime failed: {row['onnxruntime_error']}")
                    else:
                        row["onnxruntime"] = o
                        log(f"  onnxruntime: {o['milliseconds']:.3f} ms")
                log(f"{tag} surgeon ...")
                s = bench_surgeon(args.surgeon_bench, m, t, b, repeats, args.timeout)
                row["surgeon"] = s
                row["macs"] = s.get("macs")
                log(f"  surgeon: {s['milliseconds']:.3f} ms, {s['macs']:,} MACs per sample"
                    if s.get("macs") is not None else f"  surgeon: {s['milliseconds']:.3f} ms")
                row["other_cores_busy"] = load.cores()
                warn_if_busy(row["other_cores_busy"], "these two measurements")
                ort_ms = row["onnxruntime"]["milliseconds"] if row["onnxruntime"] else None
                row["onnxruntime_over_surgeon"] = (ort_ms / s["milliseconds"]
                                                   if ort_ms is not None and s["milliseconds"] > 0 else None)
                results.append(row)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_binary(args.surgeon, "--surgeon")
    check_binary(args.surgeon_bench, "--surgeon-bench")
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        raise SystemExit(f"error: {e}; install onnxruntime and numpy (see the module docstring)")

    models: list[Model] = []
    pairs: list[tuple[Model, Model]] = []
    if args.run_dir is not None:
        models, pairs = run_dir_models(args.run_dir, args.variants)
    if args.models:
        given = [Model(p, label) for p, label in zip(args.models, short_labels(args.models))]
        if args.pair:
            for base, pruned in zip(given[0::2], given[1::2]):
                base.role, pruned.role = "baseline", "pruned"
                pairs.append((base, pruned))
        models += given
    if not models:
        raise SystemExit("error: no models to measure")
    seen: dict[str, int] = {}
    for m in models:  # labels must be unique: they key the results
        if m.label in seen:
            seen[m.label] += 1
            m.label = f"{m.label} ({seen[m.label]})"
        else:
            seen[m.label] = 1

    cores = os.cpu_count() or 1
    if max(args.threads) > cores:
        log(f"warning: {max(args.threads)} threads requested but only {cores} CPUs are visible")
    probe = OtherLoad(children=True)
    time.sleep(1.0)
    load_start = probe.cores()
    if load_start is not None and load_start > OTHER_LOAD_WARN:
        log(f"warning: other processes keep {load_start:.2f} of the {cores} CPUs busy; the figures "
            f"(2-thread ones above all) will be noisy")
    for m in models:
        log(f"model {m.label}: {m.path}")

    temp = None
    if args.keep_onnx is not None:
        args.keep_onnx.mkdir(parents=True, exist_ok=True)
        onnx_dir = args.keep_onnx
    else:
        temp = tempfile.mkdtemp(prefix="inference-latency-")
        onnx_dir = Path(temp)
    try:
        results = run(args, ort, np, models, onnx_dir)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    rows = speedup_rows(pairs, results)

    if args.json:
        out = {
            "benchmark": "inference_latency",
            "onnxruntime_version": ort.__version__,
            "numpy_version": np.__version__,
            "python_version": platform.python_version(),
            "machine": platform.machine(),
            "cpu_count": cores,
            "other_cores_busy_at_start": load_start,
            "targets": {"onnxruntime_over_surgeon": LATENCY_TARGET,
                        "latency_speedup_over_macs_speedup": SPEEDUP_TARGET},
            "settings": {
                "threads": args.threads,
                "batch_sizes": args.batch_sizes,
                "repeats": {str(b): repeats_for(args.repeats, b) for b in args.batch_sizes},
                "rounds": args.rounds,
                "onnxruntime_warmup": args.warmup,
                "seed": args.seed,
                "surgeon": str(args.surgeon),
                "surgeon_bench": str(args.surgeon_bench),
                "onnx_convert_options": ["--fold-batchnorm"],
                "onnxruntime_session": {"providers": ["CPUExecutionProvider"], "intra_op_num_threads": "T",
                                        "inter_op_num_threads": 1, "execution_mode": "ORT_SEQUENTIAL",
                                        "graph_optimization_level": "ORT_ENABLE_ALL (default)",
                                        "io_binding": True},
                "median": "sorted(times)[repeats // 2], as surgeon-bench",
                "run_dir": str(args.run_dir) if args.run_dir else None,
                "onnx_kept_in": str(args.keep_onnx) if args.keep_onnx else None,
            },
            "models": [m.to_json() for m in models],
            "results": results,
            "speedups": rows,
            "verdicts": verdicts(results, rows),
        }
        print(json.dumps(out, indent=2))
        return 0

    print(f"onnxruntime {ort.__version__} (CPU, BatchNorm folded by surgeon convert) vs surgeon-bench infer; "
          f"median ms per batch; repeats " + ", ".join(f"{repeats_for(args.repeats, b)} at batch {b}"
                                                      for b in args.batch_sizes)
          + (f"; median over {args.rounds} rounds of the whole sweep" if args.rounds > 1 else ""))
    print("models: " + "; ".join(f"{m.label} = {m.path}" for m in models))
    for m in models:
        if m.onnx_error:
            print(f"note: no onnxruntime figures for {m.label}: {m.onnx_error}")
        if m.onnx_check_error:
            print(f"note: onnx.checker rejects {m.label}'s ONNX file: {m.onnx_check_error}")
    for r in results:
        if r["onnxruntime_error"]:
            print(f"note: onnxruntime failed on {r['model']} at {r['threads']} thread(s), batch {r['batch_size']}: "
                  f"{r['onnxruntime_error']}")
    print()
    print(latency_table(results))
    print(f"onnxrt/surgeon = onnxruntime ms / surgeon ms (>= {LATENCY_TARGET:g}: surgeon at least as fast); "
          f"MACs per sample from surgeon-bench; busy '!' = other processes kept > {OTHER_LOAD_WARN:g} CPU busy")
    if rows:
        print()
        print(speedup_table(rows))
        print(f"MACs x = baseline MACs / pruned MACs; X x = baseline ms / pruned ms; X x/MACs x = latency "
              f"speed-up over MACs speed-up (target >= {SPEEDUP_TARGET:g})")
    lines = verdicts(results, rows)
    if lines:
        print()
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
