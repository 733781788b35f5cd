"""Checks an ONNX model file with the ONNX checker and runs it once in onnxruntime (CPU).

A by-hand check that a model file written by surgeon (or by anyone) is valid ONNX, loads and
runs in onnxruntime, and, given an expected output, computes it:

    /work/venv-onnx/bin/python scripts/onnx_check.py MODEL.onnx \\
        [--input X.npy ...] [--expect Y.npy ...] [--tol 1e-4] [--batch 2] [--seed 0] \\
        [--compare OTHER.onnx] [--json]

Steps:
  1. `onnx.checker.check_model(path, full_check=True)` on the path (so external data beside the
     model is found and checked too).
  2. `onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])`.
  3. Feeds each data input (graph inputs that are not initializers) the matching `--input` file
     (in input order), or else seeded standard-normal data of the declared shape with the batch
     (first) dimension set to `--batch` (2). A symbolic dimension other than the first needs
     `--input`.
  4. Reports input/output names, declared shapes (symbolic dims as their names, `?` for unnamed),
     element types, whether the batch axis is dynamic, IR version, opsets, op-type counts, the
     shapes ORT produced, and with `--expect` (one file per output, in output order) the max
     abs difference per output.
  5. With `--compare OTHER.onnx`: the "drop-in replacement" check. Both files must declare the
     same data input and output names (in order), element types, ranks, and dynamic batch axis;
     every difference is printed. Dimensions that differ otherwise (sizes, symbolic names) are
     printed as notes and do not fail. OTHER is only read, not run (check it on its own too).

Exit status: 0 when the checker and ORT succeed (and every --expect diff is <= --tol, and
--compare found no difference); 1 otherwise. `--json` prints one JSON object instead of text.
"""

import argparse
import json
import sys
from collections import Counter

import numpy as np
import onnx


def dim_list(value_info):
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    out = []
    for d in t.shape.dim:
        if d.HasField("dim_value"):
            out.append(d.dim_value)
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append("?")
    return out


def elem_name(code):
    try:
        return onnx.TensorProto.DataType.Name(code)
    except ValueError:
        return f"UNKNOWN({code})"


def describe(value_info):
    shape = dim_list(value_info)
    return {
        "name": value_info.name,
        "shape": shape,
        "elem_type": elem_name(value_info.type.tensor_type.elem_type),
        "rank": None if shape is None else len(shape),
        "dynamic_batch": bool(shape) and not isinstance(shape[0], int),
    }


def interface(model):
    inits = {t.name for t in model.graph.initializer}
    inputs = [describe(i) for i in model.graph.input if i.name not in inits]
    outputs = [describe(o) for o in model.graph.output]
    return inputs, outputs


def op_counts(model):
    c = Counter((n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}")
                for n in model.graph.node)
    return dict(sorted(c.items()))


def compare(a_path, a_model, b_path):
    """Differences between the interfaces of two models (none: drop-in), and notes on
    dimensions that differ (symbolic names or sizes; informative, not a failure)."""
    diffs, notes = [], []
    try:
        b_model = onnx.load(b_path, load_external_data=False)
    except Exception as e:  # noqa: BLE001 - reported, not raised
        return [f"cannot load {b_path}: {e}"], notes
    for kind, a_list, b_list in zip(("input", "output"), interface(a_model), interface(b_model)):
        if len(a_list) != len(b_list):
            diffs.append(f"{kind} count: {len(a_list)} vs {len(b_list)}")
        for k, (a, b) in enumerate(zip(a_list, b_list)):
            for field in ("name", "elem_type", "rank", "dynamic_batch"):
                if a[field] != b[field]:
                    diffs.append(f"{kind} {k} ({a['name']}): {field} {a[field]!r} vs {b[field]!r}")
            if a["rank"] == b["rank"] and a["shape"] != b["shape"]:
                notes.append(f"{kind} {k} ({a['name']}): shape {a['shape']} vs {b['shape']}")
    return diffs, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="an .onnx file (external data is resolved beside it)")
    ap.add_argument("--input", action="append", default=[], metavar="X.npy",
                    help="input batch for each data input, in order (default: random)")
    ap.add_argument("--expect", action="append", default=[], metavar="Y.npy",
                    help="expected output for each graph output, in order")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest accepted max abs diff (1e-4)")
    ap.add_argument("--batch", type=int, default=2, help="batch size for random inputs (2)")
    ap.add_argument("--seed", type=int, default=0, help="seed for random inputs (0)")
    ap.add_argument("--compare", metavar="OTHER.onnx",
                    help="also check that MODEL is a drop-in replacement of OTHER (same interface)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    report = {"model": args.model, "ok": False}
    ok = True

    # 1. checker, on the path so external data is checked as well
    try:
        onnx.checker.check_model(args.model, full_check=True)
        report["checker"] = "ok"
    except Exception as e:  # noqa: BLE001
        report["checker"] = f"error: {type(e).__name__}: {e}"
        ok = False

    model = None
    try:
        model = onnx.load(args.model, load_external_data=False)
    except Exception as e:  # noqa: BLE001
        report["load_error"] = f"{type(e).__name__}: {e}"
        ok = False

    if model is not None:
        inputs, outputs = interface(model)
        report.update({
            "ir_version": model.ir_version,
            "opset_imports": {(o.domain or "ai.onnx"): o.version for o in model.opset_import},
            "producer": f"{model.producer_name} {model.producer_version}".strip(),
            "inputs": inputs,
            "outputs": outputs,
            "external_initializers": sum(1 for t in model.graph.initializer
                                         if t.data_location == onnx.TensorProto.EXTERNAL),
            "nodes": len(model.graph.node),
            "op_counts": op_counts(model),
        })

        # 2.-3. onnxruntime
        try:
            import onnxruntime as ort

            sess = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
            feeds = {}
            rng = np.random.default_rng(args.seed)
            ort_inputs = sess.get_inputs()
            if len(args.input) > len(ort_inputs):
                raise ValueError(f"{len(args.input)} --input files for {len(ort_inputs)} inputs")
            for k, inp in enumerate(ort_inputs):
                if k < len(args.input):
                    feeds[inp.name] = np.load(args.input[k])
                    continue
                shape = []
                for j, d in enumerate(inp.shape):
                    if isinstance(d, int):
                        shape.append(d)
                    elif j == 0:
                        shape.append(args.batch)
                    else:
                        raise ValueError(f"input {inp.name!r} has symbolic dim {j} ({d!r}): "
                                         "give --input")
                np_type = {"tensor(float)": np.float32, "tensor(double)": np.float64,
                           "tensor(float16)": np.float16, "tensor(int64)": np.int64,
                           "tensor(int32)": np.int32}.get(inp.type)
                if np_type is None:
                    raise ValueError(f"input {inp.name!r} of type {inp.type}: give --input")
                feeds[inp.name] = rng.standard_normal(shape).astype(np_type)
            report["fed"] = {n: {"shape": list(v.shape), "dtype": str(v.dtype),
                                 "source": (args.input[i] if i < len(args.input) else "random")}
                             for i, (n, v) in enumerate(feeds.items())}
            results = sess.run(None, feeds)
            names = [o.name for o in sess.get_outputs()]
            report["ort"] = "ok"
            report["ort_outputs"] = {n: {"shape": list(r.shape), "dtype": str(r.dtype)}
                                     for n, r in zip(names, results)}
            if args.expect:
                if len(args.expect) != len(results):
                    raise ValueError(f"{len(args.expect)} --expect files for {len(results)} outputs")
                diffs = {}
                for n, r, path in zip(names, results, args.expect):
                    e = np.load(path)
                    if e.shape != r.shape:
                        diffs[n] = None
                        report.setdefault("expect_errors", []).append(
                            f"{n}: shape {list(r.shape)} vs expected {list(e.shape)}")
                        ok = False
                        continue
                    diffs[n] = float(np.max(np.abs(r.astype(np.float64) - e.astype(np.float64)))) \
                        if r.size else 0.0
                    if not diffs[n] <= args.tol:
                        ok = False
                report["max_abs_diff"] = diffs
                report["tol"] = args.tol
        except Exception as e:  # noqa: BLE001
            report["ort"] = f"error: {type(e).__name__}: {e}"
            ok = False

        # 5. drop-in comparison
        if args.compare:
            d, notes = compare(args.model, model, args.compare)
            report["compare"] = {"other": args.compare, "differences": d, "notes": notes,
                                 "same_interface": not d}
            if d:
                ok = False

    report["ok"] = ok
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_text(report)
    return 0 if ok else 1


def print_text(r):
    print(f"model: {r['model']}")
    print(f"checker: {r.get('checker')}")
    if "load_error" in r:
        print(f"load: error: {r['load_error']}")
    if "ir_version" in r:
        ops = ", ".join(f"{k} {v}" for k, v in r["opset_imports"].items())
        print(f"ir_version {r['ir_version']}, opsets: {ops}, producer: {r['producer']}")
        for kind in ("inputs", "outputs"):
            for v in r[kind]:
                print(f"{kind[:-1]}: {v['name']!r} {v['elem_type']} {v['shape']} "
                      f"dynamic batch: {'yes' if v['dynamic_batch'] else 'no'}")
        print(f"nodes: {r['nodes']}, external initializers: {r['external_initializers']}")
        print("ops: " + ", ".join(f"{k} {v}" for k, v in r["op_counts"].items()))
    if "ort" in r:
        print(f"onnxruntime: {r['ort']}")
    for n, f in r.get("fed", {}).items():
        print(f"  fed {n!r}: {f['shape']} {f['dtype']} ({f['source']})")
    for n, o in r.get("ort_outputs", {}).items():
        print(f"  output {n!r}: {o['shape']} {o['dtype']}")
    for n, d in r.get("max_abs_diff", {}).items():
        if d is not None:
            print(f"  max abs diff {n!r}: {d:.3g} ({'ok' if d <= r['tol'] else 'ABOVE'} tol {r['tol']:g})")
    for e in r.get("expect_errors", []):
        print(f"  expect: {e}")
    if "compare" in r:
        c = r["compare"]
        if c["same_interface"]:
            print(f"compare with {c['other']}: same interface (drop-in replacement)")
        else:
            print(f"compare with {c['other']}: {len(c['differences'])} difference(s)")
            for d in c["differences"]:
                print(f"  {d}")
        for n in c["notes"]:
            print(f"  note (not a failure): {n}")
    print("OK" if r["ok"] else "FAILED")


if __name__ == "__main__":
    sys.exit(main())
