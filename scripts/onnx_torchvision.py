"""torchvision classification models through surgeon's ONNX path: export, predict, prune, check.

Evidence that `surgeon` reads, runs, prunes and writes real torch exports, with surgeon's refusal
message wherever it does not (yet). Random weights (`weights=None`), small inputs, CPU only:

    nice /work/venv-onnx/bin/python scripts/onnx_torchvision.py --surgeon .build/release/surgeon \\
        [--models resnet18,mobilenet_v2] [--size 64] [--batch 2] [--exporters legacy,dynamo] \\
        [--target-macs 0.5] [--json out.json] [--workdir DIR] [--no-tp] [--timeout 1800]

Requirements: scripts/requirements-torchvision.txt (torch 2.13 CPU, torchvision 0.28, torch-pruning
1.6.1, onnx, onnxruntime, onnxscript).

For each model (default: all of MODELS below) and each exporter:
  * legacy: `torch.onnx.export(dynamo=False, opset_version=17)`, input "input", output "logits",
    dynamic batch axis;
  * dynamo: `torch.onnx.export(model, (x,))` with its defaults (opset 18, static batch 1, weights
    in a `.onnx.data` file beside the model);
  * dynamo-dynamic (only with `--exporters`): the dynamo exporter with input "input", output
    "logits" and a dynamic batch axis (`dynamic_shapes`), to tell a static-batch problem apart;
then for the file:
  1. `surgeon predict M.onnx --data X.npy` on seeded standard-normal NCHW input (batch `--batch`,
     or the model's fixed batch) against onnxruntime on M.onnx: max abs diff ("diff before");
  2. `surgeon prune M.onnx --strategy l1 --target-macs F -o P.onnx --json`: the wall time of the
     whole command, its own breakdown from the JSON (`seconds`: load = reading the model, prune =
     scoring, planning and rewriting, save = writing P.onnx) and MACs before and after;
  3. `onnx.checker.check_model(P.onnx, full_check=True)`, onnxruntime on P.onnx, and `surgeon
     predict P.onnx` against it: max abs diff ("diff after").
A failing step is recorded (surgeon's message, its first line) and the run goes on. One row per
model and exporter is printed as a Markdown table; `--json` writes every row with all details.

With resnet50 in the run (and no `--no-tp`), Torch-Pruning's DepGraph on the same torch model:
`tp.pruner.MagnitudePruner(global_pruning=True, importance=tp.importance.MagnitudeImportance(p=1),
pruning_ratio=r)` and `pruner.step()`, with r found by bisection (on copies, untimed) so that about
half the MACs go; the timed run is the pruner's construction (the dependency graph) and one step,
compared with the wall time of the whole `surgeon prune` command on the legacy ResNet-50 export.
"""

import argparse
import contextlib
import copy
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import types
import warnings

import numpy as np


def import_torchvision():
    """Imports torchvision, also when its compiled ops cannot load (a CUDA wheel with the CPU torch).

    torchvision/_meta_registrations.py registers fake kernels for torchvision::nms etc., which fails
    when _C.so did not load; the classification models never use those ops, so the module is
    replaced by an empty one in that case only.
    """
    import torch  # noqa: F401

    try:
        import torchvision

        return torchvision
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
    import torchvision

    return torchvision


# name -> (constructor name, note); every model is built with weights=None.
MODELS = {
    "resnet18": ("resnet18", ""),
    "resnet50": ("resnet50", ""),
    "resnext50_32x4d": ("resnext50_32x4d", "grouped 3x3 convs (groups 32)"),
    "regnet_y_400mf": ("regnet_y_400mf", "grouped convs, squeeze-excitation"),
    "mobilenet_v2": ("mobilenet_v2", "depthwise convs, ReLU6"),
    "mobilenet_v3_small": ("mobilenet_v3_small", "hardswish, squeeze-excitation"),
    "efficientnet_b0": ("efficientnet_b0", "SiLU, squeeze-excitation"),
    "densenet121": ("densenet121", "dense concatenations"),
    "googlenet": ("googlenet", "inception branches (aux heads off in eval)"),
    "squeezenet1_1": ("squeezenet1_1", "fire modules, conv classifier"),
    "shufflenet_v2_x0_5": ("shufflenet_v2_x0_5", "channel split and shuffle"),
    "mnasnet0_5": ("mnasnet0_5", "depthwise convs"),
    "vgg11_bn": ("vgg11_bn", "avgpool 1x1, classifier 512->4096 (7x7 needs 224 px)"),
    "inception_v3": ("inception_v3", "not in the default run; at least 75 px (run at max(size, 96))"),
}
DEFAULT_MODELS = [m for m in MODELS if m != "inception_v3"]
EXPORTERS = ["legacy", "dynamo", "dynamo-dynamic"]


def build_model(name):
    """The torchvision model `name` in eval mode, random weights (seeded)."""
    import torch

    torchvision = import_torchvision()
    torch.manual_seed(0)
    constructor = getattr(torchvision.models, MODELS[name][0])
    kwargs = {"weights": None}
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=True)
    model = constructor(**kwargs)
    if name == "vgg11_bn":
        # AdaptiveAvgPool2d(7) on a 2x2 map (64 px) does not export; pool to 1x1 instead.
        model.avgpool = torch.nn.AdaptiveAvgPool2d(1)
        model.classifier[0] = torch.nn.Linear(512, 4096)
    return model.eval()


def model_size(name, size):
    return max(size, 96) if name == "inception_v3" else size


def export(model, path, exporter, size):
    """Exports `model` to `path` with one of the two torch exporters (see the module docstring)."""
    import torch

    x = torch.randn(1, 3, size, size)
    # The dynamo exporter prints its progress on standard output: keep that for the table.
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")
        if exporter == "legacy":
            torch.onnx.export(
                model, (x,), path, dynamo=False, opset_version=17,
                input_names=["input"], output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            )
        elif exporter == "dynamo":
            torch.onnx.export(model, (x,), path)
        else:  # dynamo-dynamic: the dynamo exporter with a dynamic batch axis (traced at batch 2)
            torch.onnx.export(
                model, (torch.randn(2, 3, size, size),), path,
                input_names=["input"], output_names=["logits"],
                dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1024)},),
            )


def first_line(text):
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    line = (errors or lines or ["(no message)"])[0]
    return line[len("Error:"):].strip() if line.startswith("Error:") else line


def shorten(message, workdir):
    return message.replace(workdir + os.sep, "")


def run(cmd, timeout):
    """Runs `cmd` (niced); returns (returncode, stdout, stderr, seconds)."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(["nice"] + cmd, capture_output=True, text=True, timeout=timeout)
        return proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start
    except subprocess.TimeoutExpired:
        return -1, "", f"timed out after {timeout} s", time.perf_counter() - start


def ort_session(path, threads):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def ort_run(path, x, threads):
    session = ort_session(path, threads)
    inputs = [i for i in session.get_inputs()]
    if len(inputs) != 1:
        raise RuntimeError(f"{len(inputs)} data inputs")
    return session.run(None, {inputs[0].name: x})[0]


def input_batch(path, default):
    """The model's fixed batch size, or `default` when the first axis is symbolic."""
    import onnx

    model = onnx.load(path, load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    data = [i for i in model.graph.input if i.name not in initializers]
    dim = data[0].type.tensor_type.shape.dim[0]
    return dim.dim_value if dim.HasField("dim_value") and dim.dim_value > 0 else default


def surgeon_predict(surgeon, path, x_path, y_path, threads, timeout):
    rc, out, err, _ = run([surgeon, "predict", path, "--data", x_path, "-o", y_path,
                           "--threads", str(threads)], timeout)
    if rc != 0:
        raise RuntimeError(first_line(err or out))
    return np.load(y_path)


def max_diff(a, b):
    a = np.asarray(a, dtype=np.float64).reshape(a.shape[0], -1)
    b = np.asarray(b, dtype=np.float64).reshape(b.shape[0], -1)
    if a.shape != b.shape:
        raise RuntimeError(f"output shapes differ: surgeon {a.shape}, onnxruntime {b.shape}")
    return float(np.max(np.abs(a - b)))


def evaluate(name, exporter, args, workdir):
    """One row: export, predict vs ORT, prune, check the pruned file. Never raises."""
    row = {"model": name, "exporter": exporter, "status": "ok", "errors": [], "note": MODELS[name][1]}
    base = os.path.join(workdir, f"{name}_{exporter}")
    path, pruned = base + ".onnx", base + "_pruned.onnx"
    size = model_size(name, args.size)
    row["size"] = size

    def fail(stage, message):
        message = shorten(message, workdir)
        for prefix in (os.path.basename(path) + ": ", os.path.basename(pruned) + ": "):
            message = message[len(prefix):] if message.startswith(prefix) else message
        row["errors"].append({"stage": stage, "message": message})
        # The status names the first failure, and surgeon's prune refusal before any other.
        if row["status"] == "ok" or stage == "prune":
            row["status"] = f"{stage}: {message}"

    try:
        start = time.perf_counter()
        export(build_model(name), path, exporter, size)
        row["export_s"] = round(time.perf_counter() - start, 2)
    except Exception as error:  # noqa: BLE001 - every failure is a result here
        fail("export", first_line(f"{type(error).__name__}: {error}"))
        return row

    try:
        batch = input_batch(path, args.batch)
        x = np.random.RandomState(args.seed).standard_normal((batch, 3, size, size)).astype(np.float32)
        x_path = base + "_x.npy"
        np.save(x_path, x)
        row["batch"] = batch
        expected = ort_run(path, x, args.threads)
    except Exception as error:  # noqa: BLE001
        fail("onnxruntime", first_line(f"{type(error).__name__}: {error}"))
        return row

    try:
        got = surgeon_predict(args.surgeon, path, x_path, base + "_y.npy", args.threads, args.timeout)
        row["diff_before"] = max_diff(got, expected)
        row["max_abs_output"] = float(np.max(np.abs(expected)))
    except Exception as error:  # noqa: BLE001
        fail("predict", str(error))

    rc, out, err, seconds = run([args.surgeon, "prune", path, "--strategy", "l1", "--target-macs",
                                 str(args.target_macs), "-o", pruned, "--json",
                                 "--threads", str(args.threads)], args.timeout)
    row["prune_s"] = round(seconds, 2)
    if rc != 0:
        fail("prune", first_line(err or out))
        return row
    try:
        report = json.loads(out)
        summary = report["summary"]
        parts = report.get("seconds") or {}
        for key in ("load", "prune", "save"):
            if parts.get(key) is not None:
                row[f"{key}_part_s"] = round(parts[key], 2)
        row["macs_before"], row["macs_after"] = summary["macsBefore"], summary["macsAfter"]
        row["params_before"], row["params_after"] = summary["paramsBefore"], summary["paramsAfter"]
    except Exception as error:  # noqa: BLE001
        fail("prune", f"unreadable --json output: {error}")

    try:
        import onnx

        onnx.checker.check_model(pruned, full_check=True)
        row["checker"] = True
    except Exception as error:  # noqa: BLE001
        row["checker"] = False
        fail("checker", first_line(f"{type(error).__name__}: {error}"))
    try:
        pruned_expected = ort_run(pruned, x, args.threads)
    except Exception as error:  # noqa: BLE001
        fail("onnxruntime (pruned)", first_line(f"{type(error).__name__}: {error}"))
        return row
    try:
        got = surgeon_predict(args.surgeon, pruned, x_path, base + "_yp.npy", args.threads, args.timeout)
        row["diff_after"] = max_diff(got, pruned_expected)
        row["max_abs_output_pruned"] = float(np.max(np.abs(pruned_expected)))
    except Exception as error:  # noqa: BLE001
        fail("predict (pruned)", str(error))
    return row


def torch_pruning_resnet50(args, target_fraction):
    """Torch-Pruning's DepGraph on ResNet-50: ratio by bisection (untimed), then one timed run."""
    import torch
    import torch_pruning as tp

    size = model_size("resnet50", args.size)
    example = torch.randn(1, 3, size, size)
    base = build_model("resnet50")
    macs0, params0 = tp.utils.count_ops_and_params(base, example)

    def prune(model, ratio):
        t0 = time.perf_counter()
        pruner = tp.pruner.MagnitudePruner(
            model, example, importance=tp.importance.MagnitudeImportance(p=1),
            pruning_ratio=ratio, global_pruning=True, ignored_layers=[model.fc],
        )
        t1 = time.perf_counter()
        pruner.step()
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1

    low, high, best = 0.05, 0.8, None
    for _ in range(args.tp_bisect):
        ratio = (low + high) / 2
        model = copy.deepcopy(base)
        prune(model, ratio)
        macs, _ = tp.utils.count_ops_and_params(model, example)
        if best is None or abs(macs / macs0 - target_fraction) < abs(best[1] - target_fraction):
            best = (ratio, macs / macs0)
        if macs / macs0 > target_fraction:
            low = ratio
        else:
            high = ratio
    ratio = best[0] if best else 0.3
    model = copy.deepcopy(base)
    build_s, step_s = prune(model, ratio)
    macs1, params1 = tp.utils.count_ops_and_params(model, example)
    with torch.no_grad():
        model(example)  # the pruned model still runs
    return {
        "pruning_ratio": round(ratio, 4), "size": size,
        "depgraph_build_s": round(build_s, 2), "step_s": round(step_s, 2),
        "total_s": round(build_s + step_s, 2),
        "macs_before": int(macs0), "macs_after": int(macs1),
        "params_before": int(params0), "params_after": int(params1),
        "torch_pruning": importlib.metadata.version("torch-pruning"),
    }


def fmt_macs(row):
    if "macs_before" not in row:
        return ""
    before, after = row["macs_before"], row["macs_after"]
    return f"{before / 1e6:.1f}M -> {after / 1e6:.1f}M ({after / before:.0%})"


def fmt_diff(value, scale):
    """The max abs diff, and relative to the largest |output| of onnxruntime (random weights make
    some models' logits tiny)."""
    if value is None:
        return ""
    return f"{value:.1e} (rel {value / scale:.0e})" if scale else f"{value:.1e}"


def markdown(rows):
    lines = [
        "| family | exporter | status | prune cmd (s) | load / prune / save (s) | MACs before -> after | diff before "
        "| diff after | checker |",
        "| --- | --- | --- | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for r in rows:
        status = r["status"].replace("|", "\\|")
        checker = {True: "ok", False: "FAIL"}.get(r.get("checker"), "")
        prune_s = f"{r['prune_s']:.1f}" if "prune_s" in r else ""
        parts = " / ".join(f"{r[k]:.2f}" for k in ("load_part_s", "prune_part_s", "save_part_s") if k in r)
        lines.append(
            f"| {r['model']} | {r['exporter']} | {status} | {prune_s} | {parts} | {fmt_macs(r)} | "
            f"{fmt_diff(r.get('diff_before'), r.get('max_abs_output'))} | "
            f"{fmt_diff(r.get('diff_after'), r.get('max_abs_output_pruned'))} | {checker} |"
        )
    return "\n".join(lines)


def file_sha256(path):
    try:
        with open(shutil.which(path) or path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def default_surgeon():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for candidate in (os.path.join(here, ".build", "release", "surgeon"),
                      os.path.join(here, ".build", "debug", "surgeon")):
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("surgeon") or "surgeon"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help=f"comma-separated, from: {', '.join(MODELS)}")
    parser.add_argument("--exporters", default="legacy,dynamo", help=f"from: {', '.join(EXPORTERS)} (legacy,dynamo)")
    parser.add_argument("--surgeon", default=default_surgeon(), help="the surgeon binary")
    parser.add_argument("--size", type=int, default=64, help="input height and width (64)")
    parser.add_argument("--batch", type=int, default=2, help="batch for models with a dynamic batch axis (2)")
    parser.add_argument("--target-macs", type=float, default=0.5, help="surgeon prune --target-macs (0.5)")
    parser.add_argument("--threads", type=int, default=2, help="threads for surgeon and onnxruntime (2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per surgeon command (1800)")
    parser.add_argument("--workdir", help="keep the exported and pruned files here (default: a temporary folder)")
    parser.add_argument("--json", dest="json_path", help="write all rows (and the Torch-Pruning run) here")
    parser.add_argument("--no-tp", action="store_true", help="skip the Torch-Pruning comparison")
    parser.add_argument("--tp-bisect", type=int, default=6, help="bisection steps for Torch-Pruning's ratio (6)")
    args = parser.parse_args()

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    exporters = [e.strip() for e in args.exporters.split(",") if e.strip()]
    if unknown or any(e not in EXPORTERS for e in exporters):
        parser.error(f"unknown models {unknown} or exporters {exporters}")
    args.surgeon = os.path.abspath(args.surgeon) if os.path.exists(args.surgeon) else args.surgeon

    import onnx
    import onnxruntime
    import torch

    torch.set_num_threads(args.threads)
    torchvision = import_torchvision()
    versions = {"torch": torch.__version__, "torchvision": torchvision.__version__,
                "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
                "surgeon": args.surgeon, "surgeon_sha256": file_sha256(args.surgeon)}
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()), file=sys.stderr)

    workdir = args.workdir or tempfile.mkdtemp(prefix="surgeon-tv-")
    os.makedirs(workdir, exist_ok=True)
    workdir = os.path.abspath(workdir)
    rows, tp_result = [], None
    try:
        for name in models:
            for exporter in exporters:
                print(f"{name} / {exporter} ...", file=sys.stderr, flush=True)
                try:
                    row = evaluate(name, exporter, args, workdir)
                except Exception as error:  # noqa: BLE001 - belt and braces
                    row = {"model": name, "exporter": exporter, "errors": [],
                           "status": f"script: {type(error).__name__}: {error}",
                           "traceback": traceback.format_exc()}
                rows.append(row)
                print(f"  {row['status']}", file=sys.stderr, flush=True)
                if not args.workdir:  # keep the disk small: drop this row's files
                    for f in os.listdir(workdir):
                        if f.startswith(f"{name}_{exporter}"):
                            os.remove(os.path.join(workdir, f))
        if "resnet50" in models and not args.no_tp:
            print("resnet50 / Torch-Pruning ...", file=sys.stderr, flush=True)
            try:
                tp_result = torch_pruning_resnet50(args, args.target_macs)
            except Exception as error:  # noqa: BLE001
                tp_result = {"error": f"{type(error).__name__}: {error}"}
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    print(markdown(rows))
    if tp_result is not None:
        print()
        print("ResNet-50, about half the MACs removed:")
        print()
        print("| tool | what is timed | time (s) | MACs before -> after |")
        print("| --- | --- | ---: | --- |")
        for r in rows:
            if r["model"] == "resnet50" and "prune_s" in r:
                print(f"| surgeon ({r['exporter']} export) | whole `surgeon prune` command: load, plan, "
                      f"prune, save | {r['prune_s']:.1f} | {fmt_macs(r) or r['status']} |")
        if "error" in tp_result:
            print(f"| Torch-Pruning | failed: {tp_result['error']} | | |")
        else:
            t = tp_result
            tp_macs = (f"{t['macs_before'] / 1e6:.1f}M -> {t['macs_after'] / 1e6:.1f}M "
                       f"({t['macs_after'] / t['macs_before']:.0%})")
            print(f"| Torch-Pruning {t['torch_pruning']} | MagnitudePruner (DepGraph) build "
                  f"{t['depgraph_build_s']:.1f} s + step {t['step_s']:.1f} s, ratio {t['pruning_ratio']} "
                  f"| {t['total_s']:.1f} | {tp_macs} |")
    if args.json_path:
        with open(args.json_path, "w") as f:
            json.dump({"versions": versions, "args": vars(args), "rows": rows, "torch_pruning": tp_result},
                      f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
