#!/usr/bin/env python3
"""PyTorch CPU training-throughput baseline for surgeon's three small CNNs.

Measures training throughput (images/s) of the `mobilenetv2`, `res` and `vgg`
variants -- built exactly like surgeon's Swift builders (28x28x1 input,
10 classes, width 1.0) -- with PyTorch on the CPU at 1 and 2 threads and, when
given ``--surgeon-cmd``, runs surgeon's own benchmark in the same run,
interleaved with PyTorch (for each thread count and variant: PyTorch, then
surgeon), so that machine noise hits both alike. It prints a table with the
ratio surgeon/PyTorch, or JSON with ``--json``.

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
        --surgeon-cmd ".build/release/surgeon benchmark train --steps 30"

Run it on an otherwise idle machine: with 2 cores, any other busy process
(a build, a test run) makes the figures -- the 2-thread ones above all, whose
threads wait on each other -- swing by an order of magnitude. The script
measures how many cores other processes kept busy (from /proc/stat), warns
when that is more than a fifth of a core, and records it in the ``--json``
output along with every repeat's figure.

The surgeon command is run through the shell as
``CMD --variant V --threads T --json``; its stdout must contain a JSON object
with at least the key ``images_per_second`` (other keys are kept in the
``--json`` output). Its stderr is passed through.

Training set-up, both sides: batch size 64, SGD lr 0.05, momentum 0.9,
Nesterov, weight decay 5e-4, softmax cross-entropy, random seeded data
([64, 1, 28, 28] float32 images, integer labels), model.train() (BatchNorm in
training mode). Per measurement: a few warm-up steps, then at least
``--min-steps`` steps and ``--min-time`` seconds are timed; the figure reported
is the median over ``--repeats`` such measurements.

Architectures (``d(v) = make_divisible(v * width, 8)``, MobileNetV2's rule):

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

Convs have no bias (BN follows); BN eps 1e-3, momentum 0.1 (PyTorch
convention, i.e. Keras momentum 0.9). 'same' padding is padding=1 for the 3x3
convs; for stride 2 on even inputs this differs from Keras' asymmetric padding
only in alignment, which does not matter for throughput (shapes are equal).
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

import torch
import torch.nn as nn
import torch.nn.functional as F

VARIANTS = ("mobilenetv2", "res", "vgg")
STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 2, 1))
INPUT_SIZE = 28
INPUT_CHANNELS = 1
NUM_CLASSES = 10
BN_EPS = 1e-3
BN_MOMENTUM = 0.1
OTHER_LOAD_WARN = 0.2  # cores kept busy by other processes that earn a warning


def make_divisible(v: float, divisor: int = 8) -> int:
    """MobileNetV2's channel rounding: nearest multiple of `divisor`, at least
    `divisor`, and never more than 10% below `v`."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


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
    def __init__(self, variant: str, width: float = 1.0):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}")

        def d(v: float) -> int:
            return make_divisible(v * width, 8)

        act = nn.ReLU6 if variant == "mobilenetv2" else nn.ReLU
        cin = d(32)
        layers: list[nn.Module] = conv_bn(INPUT_CHANNELS, cin, 3) + [act(inplace=True)]
        for t, c, n, s in STAGES:
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
        head = d(128)
        layers += conv_bn(cin, head, 1) + [act(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(head, NUM_CLASSES, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


def param_counts(model: nn.Module) -> dict[str, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    bn_stats = sum(
        b.numel() for name, b in model.named_buffers() if name.endswith(("running_mean", "running_var"))
    )
    # "total" counts BN moving statistics too, as Keras' model.summary() does.
    return {"trainable": trainable, "bn_running_stats": bn_stats, "total": trainable + bn_stats}


def make_batches(batch_size: int, count: int, seed: int, channels_last: bool) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(count):
        x = torch.randn(batch_size, INPUT_CHANNELS, INPUT_SIZE, INPUT_SIZE, generator=gen)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, NUM_CLASSES, (batch_size,), generator=gen)
        batches.append((x, y))
    return batches


def _busy_cpu_seconds() -> float | None:
    """CPU-seconds spent busy by all processes since boot, from /proc/stat
    (None where that is not available)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    guest = sum(fields[8:10])  # guest time is already counted in user/nice
    return (sum(fields) - idle - guest) / hz


def _own_cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class OtherLoad:
    """Average number of cores kept busy by OTHER processes over a span of
    time: all CPU time used on the machine minus this process's own."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.busy0 = _busy_cpu_seconds()
        self.own0 = _own_cpu_seconds()

    def cores(self) -> float | None:
        busy = _busy_cpu_seconds()
        if busy is None or self.busy0 is None:
            return None
        wall = time.perf_counter() - self.t0
        own = _own_cpu_seconds() - self.own0
        return max(0.0, (busy - self.busy0 - own) / wall) if wall > 0 else None


def bench_pytorch(variant: str, threads: int, args: argparse.Namespace) -> dict:
    """Median training throughput of one variant at one thread count."""
    torch.set_num_threads(threads)
    torch.manual_seed(args.seed)
    model = Net(variant)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    batches = make_batches(args.batch_size, args.data_batches, args.seed, args.channels_last)

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

    for _ in range(args.warmup):
        step()
    runs = []
    other = OtherLoad()
    for _ in range(args.repeats):
        steps = 0
        start = time.perf_counter()
        while True:
            step()
            steps += 1
            elapsed = time.perf_counter() - start
            if steps >= args.min_steps and elapsed >= args.min_time:
                break
        runs.append({"steps": steps, "seconds": elapsed, "images_per_second": steps * args.batch_size / elapsed})
    ips = [r["images_per_second"] for r in runs]
    return {
        "images_per_second": statistics.median(ips),
        "runs": runs,
        "other_cores_busy": other.cores(),
        "final_loss": step(),
    }


def parse_json_object(text: str, key: str = "images_per_second") -> dict:
    """The last JSON object in `text` that has `key` (so log lines or other
    objects around it are tolerated)."""
    dec = json.JSONDecoder()
    found = None
    i = text.find("{")
    while i != -1:
        try:
            obj, end = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict) and key in obj:
            found = obj
        i = text.find("{", end)
    if found is None:
        raise ValueError(f"no JSON object with key '{key}' in the command's stdout")
    return found


def bench_surgeon(cmd: str, variant: str, threads: int, timeout: float) -> dict:
    full = f"{cmd} --variant {shlex.quote(variant)} --threads {threads} --json"
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
        obj = parse_json_object(proc.stdout)
        obj["images_per_second"] = float(obj["images_per_second"])
    except (ValueError, TypeError) as e:
        raise SystemExit(f"error: {e}: {full}\nstdout:\n{proc.stdout}")
    return obj


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fmt_table(rows: list[dict], with_surgeon: bool) -> str:
    if with_surgeon:
        header = ("variant", "threads", "surgeon img/s", "pytorch img/s", "surgeon/pytorch")
        body = [
            (r["variant"], str(r["threads"]), f"{r['surgeon_images_per_second']:.1f}",
             f"{r['pytorch_images_per_second']:.1f}", f"{r['ratio']:.3f}")
            for r in rows
        ]
    else:
        header = ("variant", "threads", "pytorch img/s")
        body = [(r["variant"], str(r["threads"]), f"{r['pytorch_images_per_second']:.1f}") for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(  # noqa: E731
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
    )
    out = [line(header), line(tuple("-" * w for w in widths))]
    out += [line(b) for b in body]
    return "\n".join(out)


def positive_int(s: str) -> int:
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="PyTorch CPU training throughput (images/s) of surgeon's mobilenetv2/res/vgg CNNs, "
        "optionally interleaved with surgeon's own benchmark to report the ratio surgeon/PyTorch.",
        epilog="Example: %(prog)s --surgeon-cmd '.build/release/surgeon benchmark train --steps 30' "
        "(the command is run through the shell with ' --variant V --threads T --json' appended and must "
        "print a JSON object with the key images_per_second). Progress goes to stderr; the table, or the "
        "JSON with --json, to stdout.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--surgeon-cmd", metavar="CMD",
                   help="shell command running surgeon's training benchmark; if omitted, only PyTorch is measured")
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS), metavar="V",
                   help=f"variants to measure, among {', '.join(VARIANTS)}")
    p.add_argument("--threads", nargs="+", type=positive_int, default=[1, 2], metavar="T",
                   help="thread counts (torch.set_num_threads, surgeon --threads)")
    p.add_argument("--batch-size", type=positive_int, default=64,
                   help="PyTorch batch size (the surgeon command must be told separately if changed)")
    p.add_argument("--warmup", type=int, default=5, help="untimed warm-up steps before the timed repeats")
    p.add_argument("--min-steps", type=positive_int, default=30, help="timed steps per repeat, at least")
    p.add_argument("--min-time", type=float, default=3.0, help="timed seconds per repeat, at least")
    p.add_argument("--repeats", type=positive_int, default=5, help="timed repeats; the median is reported")
    p.add_argument("--seed", type=int, default=0, help="seed for the weights and the random data")
    p.add_argument("--data-batches", type=positive_int, default=4,
                   help="distinct random batches cycled through during training")
    p.add_argument("--channels-last", action="store_true",
                   help="run PyTorch in channels_last (NHWC) memory format instead of its default NCHW")
    p.add_argument("--surgeon-timeout", type=float, default=900.0, help="seconds allowed per surgeon run")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = p.parse_args(argv)

    cores = os.cpu_count() or 1
    if max(args.threads) > cores:
        log(f"warning: {max(args.threads)} threads requested but only {cores} CPUs are visible")

    probe = OtherLoad()
    time.sleep(1.0)
    load_start = probe.cores()
    if load_start is not None and load_start > OTHER_LOAD_WARN:
        log(f"warning: other processes keep {load_start:.2f} of the {cores} CPUs busy; "
            f"the figures (2-thread ones above all) will be noisy")

    params = {}
    for v in args.variants:
        params[v] = param_counts(Net(v))
        log(f"{v}: {params[v]['trainable']:,} trainable parameters "
            f"(+{params[v]['bn_running_stats']:,} BN running stats = {params[v]['total']:,} total)")

    rows = []
    for t in args.threads:
        for v in args.variants:
            log(f"[{v}, {t} thread(s)] pytorch ...")
            pt = bench_pytorch(v, t, args)
            log(f"  pytorch: {pt['images_per_second']:.1f} img/s "
                f"(repeats: {', '.join('%.1f' % r['images_per_second'] for r in pt['runs'])})")
            if pt["other_cores_busy"] is not None and pt["other_cores_busy"] > OTHER_LOAD_WARN:
                log(f"  warning: other processes kept {pt['other_cores_busy']:.2f} CPUs busy during this measurement")
            ips = [r["images_per_second"] for r in pt["runs"]]
            row = {
                "variant": v,
                "threads": t,
                "pytorch_images_per_second": pt["images_per_second"],
                "pytorch_min_images_per_second": min(ips),
                "pytorch_max_images_per_second": max(ips),
                "pytorch_runs": pt["runs"],
                "pytorch_other_cores_busy": pt["other_cores_busy"],
            }
            if args.surgeon_cmd:
                log(f"[{v}, {t} thread(s)] surgeon ...")
                sg = bench_surgeon(args.surgeon_cmd, v, t, args.surgeon_timeout)
                log(f"  surgeon: {sg['images_per_second']:.1f} img/s")
                row["surgeon_images_per_second"] = sg["images_per_second"]
                row["ratio"] = sg["images_per_second"] / pt["images_per_second"]
                row["surgeon"] = sg
            rows.append(row)

    if args.json:
        out = {
            "benchmark": "train_throughput",
            "torch_version": torch.__version__,
            "python_version": platform.python_version(),
            "machine": platform.machine(),
            "cpu_count": cores,
            "other_cores_busy_at_start": load_start,
            "settings": {
                "batch_size": args.batch_size,
                "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4},
                "input": [INPUT_CHANNELS, INPUT_SIZE, INPUT_SIZE],
                "classes": NUM_CLASSES,
                "width": 1.0,
                "warmup": args.warmup,
                "min_steps": args.min_steps,
                "min_time": args.min_time,
                "repeats": args.repeats,
                "seed": args.seed,
                "channels_last": args.channels_last,
                "surgeon_cmd": args.surgeon_cmd,
            },
            "params": params,
            "results": rows,
        }
        print(json.dumps(out, indent=2))
    else:
        print(f"torch {torch.__version__}, batch {args.batch_size}, median of {args.repeats} repeats "
              f"(>= {args.min_steps} steps and >= {args.min_time:g} s each)")
        print("params: " + ", ".join(f"{v} {params[v]['trainable']:,}" for v in args.variants))
        print(fmt_table(rows, bool(args.surgeon_cmd)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
