#!/usr/bin/env python3
"""PyTorch CPU training-throughput baseline for surgeon's CNNs.

Measures training throughput (images/s) and peak memory of the
`mobilenetv2`, `res` and `vgg` variants -- built exactly like surgeon's Swift
builders (28x28x1 input, 10 classes, width 1.0) -- and, when asked for, of
ResNet-50 (`resnet50`: 64x64x3 input, batch 32), with PyTorch on the CPU at 1
and 2 threads, in both of PyTorch's memory formats (its default NCHW and
channels_last). When given ``--surgeon-cmd``, it runs surgeon's own benchmark
in the same run, interleaved with PyTorch (for each thread count and variant:
PyTorch NCHW, PyTorch channels_last, then surgeon), so that machine noise hits
all alike. It prints a table with the ratio surgeon/PyTorch for each format
and against the faster of the two ("best"), or JSON with ``--json``.

How to run it (from the repository root)::

    # 1. A virtualenv OUTSIDE the repository, with the pinned requirements
    #    (the CPU-only torch build; do not install the default CUDA wheel):
    python3 -m venv /work/venv-bench
    /work/venv-bench/bin/pip install -r benchmarks/requirements.txt

    # 2. Build surgeon in release mode:
    swift build -c release

    # 3. Run the benchmark (PyTorch only, or against surgeon):
    /work/venv-bench/bin/python benchmarks/train_throughput.py
    /work/venv-bench/bin/python benchmarks/train_throughput.py \\
        --surgeon-cmd ".build/release/surgeon-bench train --steps 30"

    # ResNet-50 (not in the default --variants: minutes per measurement):
    /work/venv-bench/bin/python benchmarks/train_throughput.py --variants resnet50 \\
        --surgeon-cmd ".build/release/surgeon-bench train --steps 10"

``--formats nchw`` or ``--formats channels_last`` measures PyTorch in one
format only (``--channels-last`` is a deprecated alias of the latter).
``--input-shape H,W,C``, ``--batch-size`` and ``--classes`` change the
input, batch and classifier of every selected variant (defaults: 28,28,1 and
batch 64 for the small variants, 64,64,3 and batch 32 for resnet50; 10
classes).

Run it on an otherwise idle machine: with 2 cores, any other busy process
(a build, a test run) makes the figures -- the 2-thread ones above all, whose
threads wait on each other -- swing by an order of magnitude. The script
measures how many cores other processes kept busy (from /proc/stat), warns
when that is more than a fifth of a core, and records it in the ``--json``
output along with every repeat's figure.

The surgeon command is run through the shell as
``CMD --variant V --threads T --json``, followed by ``--input-shape H,W,C``
when the input is not 28,28,1, ``--batch-size B`` when the batch is not 64
and ``--classes N`` when there are not 10 classes (``surgeon-bench train``'s
options); its stdout must contain a JSON object with at least the key
``images_per_second``, and ``peak_resident_bytes`` for its memory figure
("-" without it); other keys are kept in the ``--json`` output. Its stderr is
passed through.

Peak memory (the "MiB" columns; ``peak_rss_mib`` in the JSON) is the peak
resident set of a process that builds the model and the data and runs the
warm-up and timed steps of one measurement; it includes the framework's own
libraries (importing torch alone takes about 200 MiB). Each PyTorch
measurement (one variant, thread count and format) runs in a fresh Python
process -- this script, re-invoked -- that reports getrusage's ru_maxrss;
surgeon's figure is its command's ``peak_resident_bytes`` (the same
getrusage figure). The parent process that starts them never imports torch
and stays at a few MiB, because Linux carries a process's peak resident set
across exec: a child started by a big parent would report at least the
parent's peak.

Training set-up, both sides: batch size 64 (32 for resnet50), SGD lr 0.05
(``surgeon-bench train`` uses 0.01; the rate changes no work), momentum 0.9,
Nesterov, weight decay 5e-4 (PyTorch on every parameter, surgeon on kernels
only; the difference in work is negligible), softmax cross-entropy, random
seeded data ([B, C, H, W] float32 images, integer labels), model.train()
(BatchNorm in training mode). Per measurement: a few warm-up steps, then at
least ``--min-steps`` steps and ``--min-time`` seconds are timed; the figure
reported is the median over ``--repeats`` such measurements.

Architectures of mobilenetv2, res and vgg (``d(v) = make_divisible(v * width,
8)``, MobileNetV2's rule), as surgeon's builders make them for inputs under
96 px:

* stem: conv 3x3, d(32), stride 1, BN, act (ReLU6 for mobilenetv2, else ReLU)
* stages (t, c, n, s) = (1,16,1,1), (6,24,2,2), (6,32,3,2), (6,64,2,1):
  n blocks of d(c) output channels, the first with stride s, the others 1
* mobilenetv2 block: [1x1 expand to in*t, BN, ReLU6 if t != 1], depthwise 3x3
  with stride, BN, ReLU6, 1x1 project to d(c), BN; residual add when
  stride == 1 and in == out
* res block: conv 3x3 with stride, BN, [+ x when stride == 1 and in == out],
  ReLU
* vgg block: conv 3x3 with stride, BN, ReLU
* head: conv 1x1 to d(128), BN, act, global average pool, linear to 10 (bias)

Inputs of at least 96 px (the smaller of H and W) get surgeon's ImageNet plan
instead: stem stride 2; stages (1,16,1,1), (6,24,2,2), (6,32,3,2), (6,64,4,2),
(6,96,3,1), (6,160,3,2), (6,320,1,1); head max(1280, d(1280)).

Convs have no bias (BN follows); BN eps 1e-3, momentum 0.1 (PyTorch
convention, i.e. Keras momentum 0.9). 'same' padding is padding=1 for the 3x3
convs; for stride 2 on even inputs this differs from Keras' asymmetric padding
only in alignment, which does not matter for throughput (shapes are equal).

resnet50 is ResNet-50 v1 as surgeon builds it (``ResNet50Architecture``, the
``keras.applications.ResNet50`` layout): stem conv 7x7, 64, stride 2,
padding 3 (Keras: ZeroPadding2D(3), then a valid conv), BN, ReLU, max-pool
3x3, stride 2, padding 1 (Keras: ZeroPadding2D(1), then a valid pool; the
same values, as the input is >= 0 after the ReLU); stages of 3, 4, 6, 3
bottleneck blocks of widths 64, 128, 256, 512 (expansion 4: outputs 256 ...
2048), strides 1, 2, 2, 2. A block: conv 1x1 with the stage's stride (on the
1x1, as in v1 and Keras; torchvision's v1.5 puts it on the 3x3), BN, ReLU,
conv 3x3 padding 1, BN, ReLU, conv 1x1 to 4x the width, BN, + shortcut, ReLU;
the shortcut is a conv 1x1 with the stride + BN in each stage's first block
(the first stage's too, 64 -> 256), the identity elsewhere. Every conv has a
bias (Keras' default, although BN follows); BN eps 1.001e-5, momentum 0.01
(Keras 0.99); global average pool, linear to ``--classes`` (bias). That is
23,608,202 parameters at 10 classes counting BN running statistics as Keras
does (25,636,712 at 224x224x3 and 1,000 classes, Keras' figure). What is not
identical, none of it changing the work: surgeon's classifier ends in a
softmax that its loss takes as probabilities, PyTorch's gives logits to
F.cross_entropy (the same function); the max-pool's padding is -inf in
PyTorch and zeros in Keras (equal outputs; a gradient can go to a different
one of tied zeros); PyTorch updates BN's running variance with the unbiased
batch variance, Keras with the biased one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time

from benchmark_support import OtherLoad, parse_json_object  # noqa: F401  (pipeline_vs_torch_pruning.py imports them from here)

# Only the stdlib until the models: the parent process, which starts the
# measuring processes, must stay small (see "Peak memory" in the docstring).

VARIANTS = ("mobilenetv2", "res", "vgg")  # surgeon's three small CNNs
ALL_VARIANTS = VARIANTS + ("resnet50",)
FORMATS = ("nchw", "channels_last")
STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 2, 1))
IMAGENET_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                   (6, 320, 1, 1))
RESNET50_STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # (width, blocks, stride)
INPUT_SIZE = 28
INPUT_CHANNELS = 1
NUM_CLASSES = 10
DEFAULT_INPUT_SHAPE = (INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS)  # H, W, C
RESNET50_INPUT_SHAPE = (64, 64, 3)
DEFAULT_BATCH_SIZE = 64  # also surgeon-bench train's default
RESNET50_BATCH_SIZE = 32
BN_EPS = 1e-3
BN_MOMENTUM = 0.1
RESNET50_BN_EPS = 1.001e-5
RESNET50_BN_MOMENTUM = 0.01  # Keras 0.99
SGD = {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4}
OTHER_LOAD_WARN = 0.2  # cores kept busy by other processes that earn a warning
MEASURE_FLAG = "--_measure-pytorch"  # internal: this script, run as one PyTorch measurement
MIB = 1024 * 1024


def peak_rss_bytes() -> int:
    """This process's peak resident set so far (getrusage's ru_maxrss: KiB on
    Linux, bytes on macOS)."""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(maxrss) if sys.platform == "darwin" else int(maxrss) * 1024


def shape_str(shape: tuple[int, int, int] | list[int], sep: str = ",") -> str:
    return sep.join(str(s) for s in shape)


def bench_pytorch_in_child(spec: dict) -> dict:
    """One PyTorch measurement (`spec`: variant, threads, format, shape, ...)
    in a fresh Python process running this script, so that its peak resident
    set is that measurement's alone."""
    cmd = [sys.executable, os.path.abspath(__file__), MEASURE_FLAG, json.dumps(spec)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(
            f"error: the PyTorch measurement {spec['variant']}/{spec['threads']} thread(s)/{spec['format']} "
            f"exited with status {proc.returncode}\nstdout:\n{proc.stdout}"
        )
    try:
        return parse_json_object(proc.stdout, "images_per_second")
    except ValueError as e:
        raise SystemExit(f"error: PyTorch measurement: {e}\nstdout:\n{proc.stdout}")


def surgeon_command(cmd: str, variant: str, threads: int, shape: tuple[int, int, int], batch_size: int,
                    classes: int) -> str:
    full = f"{cmd} --variant {shlex.quote(variant)} --threads {threads} --json"
    if tuple(shape) != DEFAULT_INPUT_SHAPE:
        full += f" --input-shape {shape_str(shape)}"
    if batch_size != DEFAULT_BATCH_SIZE:
        full += f" --batch-size {batch_size}"
    if classes != NUM_CLASSES:
        full += f" --classes {classes}"
    return full


def bench_surgeon(full: str, timeout: float) -> dict:
    """Runs the complete surgeon command `full` (see `surgeon_command`)."""
    log(f"  $ {full}")
    try:
        proc = subprocess.run(full, shell=True, stdout=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"error: surgeon command timed out after {timeout:g} s: {full}")
    if proc.returncode != 0:
        raise SystemExit(
            f"error: surgeon command exited with status {proc.returncode}: {full}\n"
            f"stdout:\n{proc.stdout}"
        )
    try:
        obj = parse_json_object(proc.stdout, "images_per_second")
        obj["images_per_second"] = float(obj["images_per_second"])
        if obj.get("peak_resident_bytes") is not None:
            obj["peak_resident_bytes"] = int(obj["peak_resident_bytes"])
    except (ValueError, TypeError) as e:
        raise SystemExit(f"error: {e}: {full}\nstdout:\n{proc.stdout}")
    return obj


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


FORMAT_LABELS = {"nchw": "nchw", "channels_last": "ch-last"}


def fmt_table(rows: list[dict], with_surgeon: bool, formats: list[str]) -> str:
    def num(v: float | None, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    header = ["variant", "threads"]
    if with_surgeon:
        header.append("surgeon img/s")
    for f in formats:
        header.append(f"{FORMAT_LABELS[f]} img/s")
        if with_surgeon:
            header.append(f"surgeon/{FORMAT_LABELS[f]}")
    if with_surgeon and len(formats) > 1:
        header.append("surgeon/best")
    if with_surgeon:
        header.append("surgeon MiB")
    header += [f"{FORMAT_LABELS[f]} MiB" for f in formats]

    body = []
    for r in rows:
        cells = [r["variant"], str(r["threads"])]
        if with_surgeon:
            cells.append(num(r["surgeon_images_per_second"], ".1f"))
        for f in formats:
            cells.append(num(r["pytorch"][f]["images_per_second"], ".1f"))
            if with_surgeon:
                cells.append(num(r["ratio"][f], ".3f"))
        if with_surgeon and len(formats) > 1:
            cells.append(num(r["ratio"]["best"], ".3f"))
        if with_surgeon:
            cells.append(num(r["surgeon_peak_rss_mib"], ".0f"))
        cells += [num(r["pytorch"][f]["peak_rss_mib"], ".0f") for f in formats]
        body.append(cells)

    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(  # noqa: E731
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
    )
    out = [line(header), line(["-" * w for w in widths])]
    out += [line(b) for b in body]
    return "\n".join(out)


def table_legend(with_surgeon: bool, formats: list[str]) -> str:
    names = {"nchw": "nchw = PyTorch in its default NCHW format",
             "channels_last": "ch-last = PyTorch in channels_last (NHWC)"}
    parts = [names[f] for f in formats]
    if with_surgeon:
        parts.append("surgeon/X = surgeon img/s over X's")
        if len(formats) > 1:
            parts.append("best = the faster PyTorch format")
    parts.append("MiB = peak resident set of the measuring process")
    return "; ".join(parts)


def positive_int(s: str) -> int:
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def input_shape_arg(s: str) -> tuple[int, int, int]:
    try:
        shape = tuple(int(x) for x in s.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected H,W,C (three positive integers), got {s!r}")
    return shape  # type: ignore[return-value]


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except None ones (the help text says what those mean)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return action.help if action.default is None else super()._get_help_string(action)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="PyTorch CPU training throughput (images/s) and peak memory of surgeon's CNNs in NCHW and "
        "channels_last, optionally interleaved with surgeon's own benchmark to report the ratio surgeon/PyTorch.",
        epilog="Example: %(prog)s --surgeon-cmd '.build/release/surgeon-bench train --steps 30' "
        "(the command is run through the shell with ' --variant V --threads T --json' appended, plus "
        "--input-shape/--batch-size/--classes when not 28,28,1/64/10, and must print a JSON object with "
        "the key images_per_second, and peak_resident_bytes for the memory figure). Progress goes to "
        "stderr; the table, or the JSON with --json, to stdout.",
        formatter_class=_HelpFormatter,
    )
    p.add_argument("--surgeon-cmd", metavar="CMD",
                   help="shell command running surgeon's training benchmark; if omitted, only PyTorch is measured")
    p.add_argument("--variants", nargs="+", choices=ALL_VARIANTS, default=list(VARIANTS), metavar="V",
                   help=f"variants to measure, among {', '.join(ALL_VARIANTS)}")
    p.add_argument("--formats", nargs="+", choices=FORMATS, default=None, metavar="F",
                   help="PyTorch memory formats to measure, among nchw, channels_last (default: both)")
    p.add_argument("--threads", nargs="+", type=positive_int, default=[1, 2], metavar="T",
                   help="thread counts (torch.set_num_threads, surgeon --threads)")
    p.add_argument("--input-shape", type=input_shape_arg, default=None, metavar="H,W,C",
                   help="input shape of every variant (default: 28,28,1; 64,64,3 for resnet50)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help=f"batch size (default: {DEFAULT_BATCH_SIZE}; {RESNET50_BATCH_SIZE} for resnet50)")
    p.add_argument("--classes", type=positive_int, default=NUM_CLASSES, help="classifier outputs")
    p.add_argument("--warmup", type=int, default=5, help="untimed warm-up steps before the timed repeats")
    p.add_argument("--min-steps", type=positive_int, default=30, help="timed steps per repeat, at least")
    p.add_argument("--min-time", type=float, default=3.0, help="timed seconds per repeat, at least")
    p.add_argument("--repeats", type=positive_int, default=5, help="timed repeats; the median is reported")
    p.add_argument("--seed", type=int, default=0, help="seed for the weights and the random data")
    p.add_argument("--data-batches", type=positive_int, default=4,
                   help="distinct random batches cycled through during training")
    p.add_argument("--channels-last", action="store_true",
                   help="deprecated: the same as --formats channels_last")
    p.add_argument("--surgeon-timeout", type=float, default=900.0, help="seconds allowed per surgeon run")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = p.parse_args(argv)

    if args.channels_last:
        if args.formats is not None and args.formats != ["channels_last"]:
            p.error("--channels-last (deprecated) is --formats channels_last; give only --formats")
        log("warning: --channels-last is deprecated; use --formats channels_last")
        args.formats = ["channels_last"]
    formats = list(dict.fromkeys(args.formats or FORMATS))  # in the order given, once each
    variants = list(dict.fromkeys(args.variants))

    def shape_of(v: str) -> tuple[int, int, int]:
        if args.input_shape is not None:
            return args.input_shape
        return RESNET50_INPUT_SHAPE if v == "resnet50" else DEFAULT_INPUT_SHAPE

    def batch_of(v: str) -> int:
        if args.batch_size is not None:
            return args.batch_size
        return RESNET50_BATCH_SIZE if v == "resnet50" else DEFAULT_BATCH_SIZE

    cores = os.cpu_count() or 1
    if max(args.threads) > cores:
        log(f"warning: {max(args.threads)} threads requested but only {cores} CPUs are visible")

    probe = OtherLoad()
    time.sleep(1.0)
    load_start = probe.cores()
    if load_start is not None and load_start > OTHER_LOAD_WARN:
        log(f"warning: other processes keep {load_start:.2f} of the {cores} CPUs busy; "
            f"the figures (2-thread ones above all) will be noisy")

    params: dict[str, dict] = {}
    torch_version = None
    rows = []
    for t in args.threads:
        for v in variants:
            shape, batch = shape_of(v), batch_of(v)
            row: dict = {
                "variant": v,
                "threads": t,
                "input_shape": list(shape),
                "batch_size": batch,
                "classes": args.classes,
                "pytorch": {},
            }
            for f in formats:
                log(f"[{v}, {t} thread(s)] pytorch {f} ...")
                pt = bench_pytorch_in_child({
                    "variant": v, "threads": t, "format": f, "input_shape": list(shape), "batch_size": batch,
                    "classes": args.classes, "warmup": args.warmup, "min_steps": args.min_steps,
                    "min_time": args.min_time, "repeats": args.repeats, "seed": args.seed,
                    "data_batches": args.data_batches,
                })
                torch_version = pt.pop("torch_version", torch_version)
                p_counts = pt.pop("params", None)
                if v not in params and p_counts is not None:
                    params[v] = p_counts
                    log(f"  {v} at {shape_str(shape, 'x')}: {p_counts['trainable']:,} trainable parameters "
                        f"(+{p_counts['bn_running_stats']:,} BN running stats = {p_counts['total']:,} total)")
                ips = [r["images_per_second"] for r in pt["runs"]]
                pt["min_images_per_second"] = min(ips)
                pt["max_images_per_second"] = max(ips)
                pt["peak_rss_mib"] = pt["peak_rss_bytes"] / MIB
                log(f"  pytorch {f}: {pt['images_per_second']:.1f} img/s "
                    f"(repeats: {', '.join('%.1f' % x for x in ips)}), peak memory {pt['peak_rss_mib']:.0f} MiB")
                if pt["other_cores_busy"] is not None and pt["other_cores_busy"] > OTHER_LOAD_WARN:
                    log(f"  warning: other processes kept {pt['other_cores_busy']:.2f} CPUs busy "
                        f"during this measurement")
                row["pytorch"][f] = pt
            best = max(formats, key=lambda f: row["pytorch"][f]["images_per_second"])
            row["pytorch_best_format"] = best
            row["pytorch_best_images_per_second"] = row["pytorch"][best]["images_per_second"]
            if args.surgeon_cmd:
                log(f"[{v}, {t} thread(s)] surgeon ...")
                sg = bench_surgeon(surgeon_command(args.surgeon_cmd, v, t, shape, batch, args.classes),
                                   args.surgeon_timeout)
                peak = sg.get("peak_resident_bytes")
                row["surgeon_images_per_second"] = sg["images_per_second"]
                row["surgeon_peak_rss_mib"] = peak / MIB if peak is not None else None
                log(f"  surgeon: {sg['images_per_second']:.1f} img/s"
                    + (f", peak memory {row['surgeon_peak_rss_mib']:.0f} MiB" if peak is not None else ""))
                row["ratio"] = {f: sg["images_per_second"] / row["pytorch"][f]["images_per_second"] for f in formats}
                row["ratio"]["best"] = sg["images_per_second"] / row["pytorch_best_images_per_second"]
                row["surgeon"] = sg
            rows.append(row)

    if args.json:
        out = {
            "benchmark": "train_throughput",
            "torch_version": torch_version,
            "python_version": platform.python_version(),
            "machine": platform.machine(),
            "cpu_count": cores,
            "other_cores_busy_at_start": load_start,
            # The floor under every peak_rss figure (see "Peak memory" in the script's docstring).
            "parent_peak_rss_mib": peak_rss_bytes() / MIB,
            "settings": {
                "batch_size": {v: batch_of(v) for v in variants},
                "optimizer": SGD,
                "input_shape": {v: list(shape_of(v)) for v in variants},  # H, W, C
                "classes": args.classes,
                "width": 1.0,
                "formats": formats,
                "warmup": args.warmup,
                "min_steps": args.min_steps,
                "min_time": args.min_time,
                "repeats": args.repeats,
                "seed": args.seed,
                "data_batches": args.data_batches,
                "surgeon_cmd": args.surgeon_cmd,
            },
            "params": params,
            "results": rows,
        }
        print(json.dumps(out, indent=2))
    else:
        print(f"torch {torch_version}, median of {args.repeats} repeats "
              f"(>= {args.min_steps} steps and >= {args.min_time:g} s each)")
        print("models: " + ", ".join(
            f"{v} {shape_str(shape_of(v), 'x')} batch {batch_of(v)}"
            + (f" {params[v]['trainable']:,} params" if v in params else "")
            for v in variants))
        print(fmt_table(rows, bool(args.surgeon_cmd), formats))
        print(table_legend(bool(args.surgeon_cmd), formats))
    return 0


if __name__ == "__main__" and MEASURE_FLAG not in sys.argv[1:]:
    sys.exit(main())


# --------------------------------------------------------------------------
# The models and the PyTorch measurement: imported by the measuring processes
# (and by benchmarks/pipeline_vs_torch_pruning.py), never by the parent.

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def make_divisible(v: float, divisor: int = 8) -> int:
    """MobileNetV2's channel rounding: nearest multiple of `divisor`, at least
    `divisor`, and never more than 10% below `v`."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def stage_plan(input_shape: tuple[int, int, int]) -> tuple[int, tuple, int]:
    """surgeon's `StagePlan.plan(for:)`: (stem stride, stages, head channels).
    Inputs of at least 96 px get MobileNetV2's ImageNet table; smaller ones a
    shortened table with a stride-1 stem, so that 28x28 ends at 7x7."""
    if min(input_shape[0], input_shape[1]) >= 96:
        return 2, IMAGENET_STAGES, 1280
    return 1, STAGES, 128


def conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM),
    ]


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expansion: int):
        super().__init__()
        hidden = cin * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += conv_bn(cin, hidden, 1) + [nn.ReLU6(inplace=True)]
        layers += conv_bn(hidden, hidden, 3, stride=stride, groups=hidden) + [nn.ReLU6(inplace=True)]
        layers += conv_bn(hidden, cout, 1)
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(cin, cout, 3, stride=stride))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        if self.residual:
            y = y + x
        return F.relu(y)


class Net(nn.Module):
    """mobilenetv2, res or vgg, as surgeon's builders make them."""

    def __init__(self, variant: str, width: float = 1.0, input_shape: tuple[int, int, int] = DEFAULT_INPUT_SHAPE,
                 classes: int = NUM_CLASSES):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}")

        def d(v: float) -> int:
            return make_divisible(v * width, 8)

        stem_stride, stages, head = stage_plan(input_shape)
        act = nn.ReLU6 if variant == "mobilenetv2" else nn.ReLU
        cin = d(32)
        layers: list[nn.Module] = conv_bn(input_shape[2], cin, 3, stride=stem_stride) + [act(inplace=True)]
        for t, c, n, s in stages:
            cout = d(c)
            for i in range(n):
                stride = s if i == 0 else 1
                if variant == "mobilenetv2":
                    layers.append(InvertedResidual(cin, cout, stride, t))
                elif variant == "res":
                    layers.append(ResBlock(cin, cout, stride))
                else:  # vgg
                    layers += conv_bn(cin, cout, 3, stride=stride) + [nn.ReLU(inplace=True)]
                cin = cout
        head = max(1280, d(1280)) if head == 1280 else d(head)
        layers += conv_bn(cin, head, 1) + [act(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(head, classes, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


def conv_bn_keras(cin: int, cout: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    """ResNet-50's conv (with a bias, Keras' default) + BN (Keras' eps and momentum)."""
    return [
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=True),
        nn.BatchNorm2d(cout, eps=RESNET50_BN_EPS, momentum=RESNET50_BN_MOMENTUM),
    ]


class Bottleneck(nn.Module):
    """ResNet-50 v1's block: the stride on the first 1x1 conv; a projection
    shortcut (1x1 conv with the stride + BN) when `project`."""

    def __init__(self, cin: int, width: int, stride: int, project: bool):
        super().__init__()
        self.body = nn.Sequential(
            *conv_bn_keras(cin, width, 1, stride), nn.ReLU(inplace=True),
            *conv_bn_keras(width, width, 3), nn.ReLU(inplace=True),
            *conv_bn_keras(width, 4 * width, 1),
        )
        self.shortcut = nn.Sequential(*conv_bn_keras(cin, 4 * width, 1, stride)) if project else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        y += self.shortcut(x)  # in place, as torchvision does: BN's backward does not need its output
        return F.relu(y, inplace=True)


class ResNet50(nn.Module):
    """ResNet-50 v1 as surgeon's `ResNet50Architecture` builds it (Keras'
    applications layout)."""

    def __init__(self, width: float = 1.0, input_shape: tuple[int, int, int] = RESNET50_INPUT_SHAPE,
                 classes: int = NUM_CLASSES):
        super().__init__()

        def d(v: float) -> int:
            return make_divisible(v * width, 8)

        cin = d(64)
        layers: list[nn.Module] = conv_bn_keras(input_shape[2], cin, 7, stride=2) + [
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        ]
        for w, blocks, stride in RESNET50_STAGES:
            w = d(w)
            for k in range(blocks):
                layers.append(Bottleneck(cin, w, stride if k == 0 else 1, project=k == 0))
                cin = 4 * w
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(cin, classes, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


def build_model(variant: str, input_shape: tuple[int, int, int], classes: int) -> nn.Module:
    if variant == "resnet50":
        return ResNet50(input_shape=input_shape, classes=classes)
    return Net(variant, input_shape=input_shape, classes=classes)


def param_counts(model: nn.Module) -> dict[str, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    bn_stats = sum(
        b.numel() for name, b in model.named_buffers() if name.endswith(("running_mean", "running_var"))
    )
    # "total" counts BN moving statistics too, as Keras' model.summary() does.
    return {"trainable": trainable, "bn_running_stats": bn_stats, "total": trainable + bn_stats}


def make_batches(batch_size: int, count: int, seed: int, channels_last: bool,
                 input_shape: tuple[int, int, int] = DEFAULT_INPUT_SHAPE,
                 classes: int = NUM_CLASSES) -> list[tuple[torch.Tensor, torch.Tensor]]:
    h, w, c = input_shape
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(count):
        x = torch.randn(batch_size, c, h, w, generator=gen)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, classes, (batch_size,), generator=gen)
        batches.append((x, y))
    return batches


def bench_pytorch(spec: dict) -> dict:
    """Median training throughput of one variant at one thread count in one
    memory format (`spec`, see `main`), and this process's peak resident set."""
    shape = tuple(spec["input_shape"])
    channels_last = spec["format"] == "channels_last"
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(spec["seed"])
    model = build_model(spec["variant"], shape, spec["classes"])
    counts = param_counts(model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=SGD["lr"], momentum=SGD["momentum"], nesterov=SGD["nesterov"],
                          weight_decay=SGD["weight_decay"])
    batch_size = spec["batch_size"]
    batches = make_batches(batch_size, spec["data_batches"], spec["seed"], channels_last, shape, spec["classes"])

    step_i = 0

    def step() -> float:
        nonlocal step_i
        x, y = batches[step_i % len(batches)]
        step_i += 1
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()  # forces completion of the step

    for _ in range(spec["warmup"]):
        step()
    runs = []
    other = OtherLoad()
    for _ in range(spec["repeats"]):
        steps = 0
        start = time.perf_counter()
        while True:
            step()
            steps += 1
            elapsed = time.perf_counter() - start
            if steps >= spec["min_steps"] and elapsed >= spec["min_time"]:
                break
        runs.append({"steps": steps, "seconds": elapsed, "images_per_second": steps * batch_size / elapsed})
    ips = [r["images_per_second"] for r in runs]
    return {
        "images_per_second": statistics.median(ips),
        "runs": runs,
        "other_cores_busy": other.cores(),
        "final_loss": step(),
        "peak_rss_bytes": peak_rss_bytes(),
        "params": counts,
        "torch_version": torch.__version__,
    }


def measure_main(argv: list[str]) -> int:
    """The measuring process: `MEASURE_FLAG SPEC_JSON`; prints the result as JSON."""
    if len(argv) != 2 or argv[0] != MEASURE_FLAG:
        raise SystemExit(f"usage (internal): {MEASURE_FLAG} SPEC_JSON")
    print(json.dumps(bench_pytorch(json.loads(argv[1]))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(measure_main(sys.argv[1:]))
