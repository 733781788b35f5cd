"""Makes the ONNX test fixtures in this folder with the real exporters.

    # torch part (legacy TorchScript exporter and the dynamo exporter)
    nice /work/venv-onnx/bin/python make_fixtures.py torch
    # Keras 3 / tf2onnx part (needs TensorFlow, so its own virtualenv)
    nice /work/venv-tf/bin/python make_fixtures.py tf
    # rewrite fixtures.json from the .onnx files present (each part above does this too)
    /work/venv-onnx/bin/python make_fixtures.py json

Run from any directory; files are written next to this script. Pins: requirements.txt (torch
part), requirements-tf.txt (tf part). Every model is tiny, seeded, and its weights (including
BatchNorm running statistics and affine parameters) are random so that folding is visible.

For each model NAME it writes:
    NAME.onnx                 the exported model (NAME.onnx.data beside it for external data)
    NAME.input.npy            float32 batch of 2, in the model's own layout (NCHW torch, NHWC tf2onnx)
    NAME.output.npy           onnxruntime CPU output on that input (NAME.output.K.npy if several)
and checks: onnx.checker.check_model(path, full_check=True), ORT output vs the framework's own
output (max abs diff recorded in fixtures.json), and the per-model expectations listed in
EXPECT below (ops that must or must not appear, external data present, ...).
"""

import hashlib
import json
import os
import sys
from collections import Counter

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-4
NEW_META = {}  # name -> facts about this run's exports, merged into fixtures.json


def p(*parts):
    return os.path.join(HERE, *parts)


# --------------------------------------------------------------------------------------------
# Shared checks and bookkeeping (onnx + onnxruntime only)
# --------------------------------------------------------------------------------------------

def op_counts(model):
    return dict(sorted(Counter(n.op_type for n in model.graph.node).items()))


def run_ort(path, x):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    outs = sess.run(None, {name: x})
    return [o.name for o in sess.get_outputs()], outs


def save_outputs(name, outs):
    for old in os.listdir(HERE):
        if old.startswith(name + ".output.") and old.endswith(".npy"):
            os.remove(p(old))
    if len(outs) == 1:
        np.save(p(f"{name}.output.npy"), np.asarray(outs[0]))
    else:
        for k, o in enumerate(outs):
            np.save(p(f"{name}.output.{k}.npy"), np.asarray(o))


def check_expectations(name, model, expect):
    counts = op_counts(model)
    for op in expect.get("must_have", []):
        assert counts.get(op, 0) > 0, f"{name}: expected a {op} node, got {counts}"
    for op in expect.get("must_not_have", []):
        assert counts.get(op, 0) == 0, f"{name}: expected no {op} node, got {counts}"
    if expect.get("external"):
        ext = [t.name for t in model.graph.initializer
               if t.data_location == 1]  # TensorProto.EXTERNAL
        assert ext, f"{name}: expected at least one initializer with external data"


def finish(name, x, framework_out, expect, meta):
    """Checks NAME.onnx, runs ORT on x, saves input/output .npy, returns the diff vs framework."""
    import onnx

    path = p(f"{name}.onnx")
    onnx.checker.check_model(path, full_check=True)
    model = onnx.load(path, load_external_data=False)  # keeps data_location as written
    check_expectations(name, model, expect)
    x = np.ascontiguousarray(x, dtype=np.float32)
    np.save(p(f"{name}.input.npy"), x)
    _, outs = run_ort(path, x)
    save_outputs(name, outs)
    fw = framework_out if isinstance(framework_out, (list, tuple)) else [framework_out]
    assert len(fw) == len(outs), f"{name}: {len(fw)} framework outputs vs {len(outs)} ORT outputs"
    diff = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(fw, outs))
    assert diff < TOL, f"{name}: ORT differs from the framework by {diff}"
    NEW_META[name] = dict(meta, max_abs_diff_ort_vs_framework=diff)
    print(f"{name}: ok, ORT vs framework max abs diff {diff:.3g}, ops {op_counts(model)}")
    return diff


def dims(vi):
    out = []
    for d in vi.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(d.dim_value)
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def write_json():
    """fixtures.json: one entry per NAME.onnx in this folder, read back from the files."""
    import onnx

    # Facts that cannot be read back from a file (exporter call, layout, diff vs the framework)
    # come from this run, or else from the previous fixtures.json.
    allmeta = {}
    if os.path.exists(p("fixtures.json")):
        for e in json.load(open(p("fixtures.json"))).get("models", []):
            allmeta[e["file"][:-5]] = {
                "exporter": e.get("exporter"), "description": e.get("description"),
                "extra_files": e.get("extra_files", []),
                "layout": (e.get("inputs") or [{}])[0].get("layout"),
                "max_abs_diff_ort_vs_framework": e.get("max_abs_diff_ort_vs_framework")}
    allmeta.update(NEW_META)
    entries = []
    for fn in sorted(os.listdir(HERE)):
        if not fn.endswith(".onnx"):
            continue
        name = fn[:-5]
        m = onnx.load(p(fn), load_external_data=False)
        inits = {t.name for t in m.graph.initializer}
        inputs = [i for i in m.graph.input if i.name not in inits]
        ext_files = sorted({kv.value for t in m.graph.initializer if t.data_location == 1
                            for kv in t.external_data if kv.key == "location"})
        n_ext = sum(1 for t in m.graph.initializer if t.data_location == 1)
        outputs = [o for o in sorted(os.listdir(HERE))
                   if o.startswith(name + ".output.") and o.endswith(".npy")]
        meta = allmeta.get(name, {})
        entries.append({
            "file": fn,
            "external_data_files": ext_files,
            "external_initializers": n_ext,
            "initializers": len(m.graph.initializer),
            "exporter": meta.get("exporter"),
            "producer": f"{m.producer_name} {m.producer_version}",
            "ir_version": m.ir_version,
            "opset": next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), None),
            "opset_imports": {(o.domain or "ai.onnx"): o.version for o in m.opset_import},
            "inputs": [{"name": i.name, "shape": dims(i), "elem_type": i.type.tensor_type.elem_type,
                        "layout": meta.get("layout")} for i in inputs],
            "outputs": [{"name": o.name, "shape": dims(o), "elem_type": o.type.tensor_type.elem_type}
                        for o in m.graph.output],
            "input_file": f"{name}.input.npy",
            "output_files": outputs,
            "extra_files": meta.get("extra_files", []),
            "nodes": len(m.graph.node),
            "value_info": len(m.graph.value_info),
            "op_counts": op_counts(m),
            "max_abs_diff_ort_vs_framework": meta.get("max_abs_diff_ort_vs_framework"),
            "description": meta.get("description"),
            "sha256": hashlib.sha256(open(p(fn), "rb").read()).hexdigest(),
        })
    with open(p("fixtures.json"), "w") as f:
        json.dump({"generated_by": "make_fixtures.py", "models": entries}, f, indent=1)
        f.write("\n")
    print(f"fixtures.json: {len(entries)} models")


# --------------------------------------------------------------------------------------------
# torch part
# --------------------------------------------------------------------------------------------

def torch_part():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(1)
    version = torch.__version__

    def randomize_bn(model, gen):
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm2d):
                c = mod.num_features
                with torch.no_grad():
                    mod.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                    mod.bias.copy_(torch.randn(c, generator=gen) * 0.2)
                    mod.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
                    mod.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
            if isinstance(mod, nn.PReLU):
                with torch.no_grad():
                    mod.weight.copy_(torch.rand(mod.weight.shape, generator=gen) * 0.5)

    def make(cls, seed, *args):
        torch.manual_seed(seed)
        model = cls(*args)
        randomize_bn(model, torch.Generator().manual_seed(seed + 1000))
        return model.eval()

    def make_input(seed, shape):
        g = torch.Generator().manual_seed(seed)
        return torch.randn(*shape, generator=g)

    def legacy(name, model, x, expect, description, **kw):
        path = p(f"{name}.onnx")
        with torch.no_grad():
            ref = model(x).numpy()
            torch.onnx.export(
                model, (x,), path, dynamo=False, opset_version=17,
                input_names=["input"], output_names=["logits"],
                dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, **kw)
        finish(name, x.numpy(), ref, expect, {
            "exporter": f"torch {version} torch.onnx.export(dynamo=False, opset_version=17"
                        + "".join(f", {k}={v!r}" for k, v in kw.items()) + ")",
            "layout": "NCHW", "description": description})

    # -- 1. legacy_cnn / 6. dynamo_cnn ---------------------------------------------------------
    def cbr(cin, cout, stride=1):
        return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]

    class BasicBlock(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)

        def forward(self, x):
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return self.relu(y + x)

    class SmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
            self.bn2 = nn.BatchNorm2d(16)
            self.layer1 = BasicBlock(16)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = self.pool(self.relu(self.bn1(self.conv1(x))))
            x = self.relu(self.bn2(self.conv2(x)))
            x = self.layer1(x)
            x = self.avgpool(x)
            x = x.view(x.size(0), -1)
            return self.fc(x)

    cnn = make(SmallCNN, 1)
    x_cnn = make_input(101, (2, 3, 16, 16))
    legacy("legacy_cnn", cnn, x_cnn,
           {"must_have": ["Conv", "MaxPool", "Add", "GlobalAveragePool", "Shape", "Gather",
                          "Unsqueeze", "Concat", "Reshape", "Gemm"],
            "must_not_have": ["BatchNormalization"]},
           "Conv+BN+ReLU, MaxPool, strided Conv+BN+ReLU, residual block, global average pool, "
           "x.view(x.size(0), -1), Linear(16,10). BN folded into the convs (constant folding on).")

    # -- 2. legacy_bn_kept ---------------------------------------------------------------------
    class BNKept(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(6, eps=1e-3)
            self.conv2 = nn.Conv2d(6, 5, 3, stride=2, padding=1)
            self.bn2 = nn.BatchNorm2d(5)
            self.relu = nn.ReLU()
            self.fc = nn.Linear(5 * 6 * 5, 7)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.relu(self.bn2(self.conv2(x)))
            x = torch.flatten(x, 1)
            return self.fc(x)

    legacy("legacy_bn_kept", make(BNKept, 2), make_input(102, (2, 3, 12, 10)),
           {"must_have": ["Conv", "BatchNormalization", "Relu", "Flatten", "Gemm"]},
           "Non-square 3x12x10 input. Conv+BN(eps 1e-3)+ReLU, Conv(6->5, stride 2)+BN+ReLU, "
           "torch.flatten(x, 1) over a 5x6x5 map, Linear(150,7). Exported without constant "
           "folding, so BatchNormalization stays a node.",
           do_constant_folding=False)

    # -- 3. legacy_mobile ----------------------------------------------------------------------
    class InvertedResidual(nn.Module):
        def __init__(self, c, expand):
            super().__init__()
            h = c * expand
            self.expand = nn.Sequential(nn.Conv2d(c, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU6())
            self.dw = nn.Sequential(nn.Conv2d(h, h, 3, padding=1, groups=h, bias=False),
                                    nn.BatchNorm2d(h), nn.ReLU6())
            self.project = nn.Sequential(nn.Conv2d(h, c, 1, bias=False), nn.BatchNorm2d(c))

        def forward(self, x):
            return x + self.project(self.dw(self.expand(x)))

    class SqueezeExcitation(nn.Module):
        def __init__(self, c, r):
            super().__init__()
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc1 = nn.Conv2d(c, r, 1)
            self.relu = nn.ReLU()
            self.fc2 = nn.Conv2d(r, c, 1)
            self.gate = nn.Hardsigmoid()

        def forward(self, x):
            s = self.gate(self.fc2(self.relu(self.fc1(self.avgpool(x)))))
            return x * s

    class Mobile(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU6())
            self.block1 = InvertedResidual(8, 2)
            # depthwise with channel multiplier 2: groups = C_in, out = 2 * C_in
            self.dw2 = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=8, bias=False),
                                     nn.BatchNorm2d(16), nn.Hardswish())
            self.se = SqueezeExcitation(16, 4)
            self.pw = nn.Sequential(nn.Conv2d(16, 12, 1, bias=False), nn.BatchNorm2d(12), nn.SiLU())
            self.branch_a = nn.Sequential(nn.Conv2d(12, 6, 1), nn.LeakyReLU(0.1))
            self.branch_b = nn.Sequential(nn.Conv2d(12, 6, 3, padding=1), nn.PReLU(6))
            self.avgpool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
            self.fc = nn.Linear(12, 10)
            self.softmax = nn.Softmax(dim=1)

        def forward(self, x):
            x = self.stem(x)
            x = self.block1(x)
            x = self.dw2(x)
            x = self.se(x)
            x = self.pw(x)
            x = torch.cat([self.branch_a(x), self.branch_b(x)], dim=1)
            x = self.avgpool(x)
            x = x.mean((2, 3))
            return self.softmax(self.fc(x))

    legacy("legacy_mobile", make(Mobile, 3), make_input(103, (2, 3, 16, 16)),
           {"must_have": ["Conv", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "Mul",
                          "LeakyRelu", "PRelu", "Concat", "AveragePool", "ReduceMean",
                          "Gemm", "Softmax", "Add", "GlobalAveragePool"],
            "must_not_have": ["BatchNormalization"]},
           "MobileNetV2/V3 pieces: Conv+BN+ReLU6, inverted residual (1x1 expand x2, depthwise "
           "3x3, 1x1 project, + identity), depthwise multiplier 2 (groups=8, 8->16, stride 2)+BN+"
           "Hardswish, squeeze-excitation (avgpool, 1x1 16->4, ReLU, 1x1 4->16, Hardsigmoid, "
           "multiply), 1x1+BN+SiLU, two branches (1x1+LeakyReLU(0.1), 3x3+PReLU(6)) concatenated, "
           "AvgPool2d(3,1,1,count_include_pad=False), mean over (2,3), Linear(12,10), Softmax.")

    # -- 4. legacy_grouped ---------------------------------------------------------------------
    class Grouped(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(*cbr(3, 16))
            self.gconv = nn.Conv2d(16, 16, 3, padding=1, groups=4, bias=False)
            self.gbn = nn.BatchNorm2d(16)
            self.relu = nn.ReLU()
            self.pw = nn.Conv2d(16, 16, 1, bias=False)
            self.pbn = nn.BatchNorm2d(16)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = self.stem(x)
            y = self.relu(self.gbn(self.gconv(x)))
            y = self.pbn(self.pw(y))
            x = self.relu(x + y)
            x = torch.flatten(self.avgpool(x), 1)
            return self.fc(x)

    legacy("legacy_grouped", make(Grouped, 4), make_input(104, (2, 3, 16, 16)),
           {"must_have": ["Conv", "Add", "GlobalAveragePool", "Flatten", "Gemm"],
            "must_not_have": ["BatchNormalization"]},
           "ResNeXt-like: Conv(3->16)+BN+ReLU, grouped Conv(16->16, k3, groups=4)+BN+ReLU, "
           "1x1 Conv+BN, + residual, ReLU, global average pool, flatten, Linear(16,10).")

    # -- 5. legacy_shuffle ---------------------------------------------------------------------
    def channel_shuffle(x, groups):
        batchsize, num_channels, height, width = x.size()
        channels_per_group = num_channels // groups
        x = x.view(batchsize, groups, channels_per_group, height, width)
        x = torch.transpose(x, 1, 2).contiguous()
        return x.view(batchsize, -1, height, width)

    class ShuffleUnit(nn.Module):  # torchvision.models.shufflenetv2.InvertedResidual
        def __init__(self, inp, oup, stride):
            super().__init__()
            self.stride = stride
            bf = oup // 2
            if stride > 1:
                self.branch1 = nn.Sequential(
                    nn.Conv2d(inp, inp, 3, stride, 1, bias=False, groups=inp), nn.BatchNorm2d(inp),
                    nn.Conv2d(inp, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU())
            else:
                self.branch1 = nn.Sequential()
            self.branch2 = nn.Sequential(
                nn.Conv2d(inp if stride > 1 else bf, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU(),
                nn.Conv2d(bf, bf, 3, stride, 1, bias=False, groups=bf), nn.BatchNorm2d(bf),
                nn.Conv2d(bf, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU())

        def forward(self, x):
            if self.stride == 1:
                x1, x2 = x.chunk(2, dim=1)
                out = torch.cat((x1, self.branch2(x2)), dim=1)
            else:
                out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
            return channel_shuffle(out, 2)

    class Shuffle(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Sequential(*cbr(3, 8))
            self.stage2 = nn.Sequential(ShuffleUnit(8, 8, 1), ShuffleUnit(8, 16, 2))
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = self.stage2(self.conv1(x))
            return self.fc(x.mean([2, 3]))

    legacy("legacy_shuffle", make(Shuffle, 5), make_input(105, (2, 3, 16, 16)),
           {"must_have": ["Conv", "Shape", "Gather", "Slice", "Reshape", "Transpose", "Concat",
                          "ReduceMean", "Gemm"],
            "must_not_have": ["BatchNormalization"]},
           "ShuffleNetV2 written like torchvision: Conv(3->8)+BN+ReLU, a stride-1 unit "
           "(x.chunk(2, dim=1), 1x1/depthwise 3x3/1x1 branch, torch.cat, channel_shuffle with "
           "x.size()/view/transpose/view), a stride-2 unit (8->16, two branches), mean over "
           "(2,3), Linear(16,10).")

    # -- 6. dynamo_cnn -------------------------------------------------------------------------
    name = "dynamo_cnn"
    path = p(f"{name}.onnx")
    for old in (path, path + ".data"):
        if os.path.exists(old):
            os.remove(old)
    with torch.no_grad():
        ref = cnn(x_cnn).numpy()
        torch.onnx.export(cnn, (x_cnn,), path, input_names=["input"], output_names=["logits"],
                          dynamic_shapes={"x": {0: torch.export.Dim("N")}})
    finish(name, x_cnn.numpy(), ref,
           {"must_have": ["Conv", "MaxPool", "Add", "Reshape", "Gemm"],
            "must_not_have": ["BatchNormalization"], "external": True},
           {"exporter": f"torch {version} torch.onnx.export(model, (x,), path, input_names, "
                        "output_names, dynamic_shapes={'x': {0: Dim('N')}}) (defaults: dynamo=True, "
                        "external_data=True, optimize=True)",
            "layout": "NCHW", "extra_files": [f"{name}.onnx.data"],
            "description": "The same network and weights as legacy_cnn, exported with torch's "
                           "default (dynamo) exporter; weights in dynamo_cnn.onnx.data."})


# --------------------------------------------------------------------------------------------
# Keras 3 / tf2onnx part
# --------------------------------------------------------------------------------------------

def tf_part():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    from keras import layers
    import tf2onnx

    keras.utils.set_random_seed(7)
    inp = keras.Input((16, 16, 3), name="input")
    # conv1 has no bias (the Keras applications' Conv+BN form): tf2onnx folds bn1 into it.
    x = layers.Conv2D(8, 3, padding="same", use_bias=False, name="conv1")(inp)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.ZeroPadding2D(((0, 1), (0, 1)), name="pad2")(x)
    # conv2 has a bias: tf2onnx then does not fold bn2, which becomes Mul + Add [1,C,1,1].
    x = layers.Conv2D(12, 3, strides=2, padding="valid", name="conv2")(x)
    x = layers.BatchNormalization(epsilon=1e-3, name="bn2")(x)
    x = layers.ReLU(name="relu2")(x)
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw3")(x)
    x = layers.BatchNormalization(name="bn3")(x)
    x = layers.ReLU(name="relu3")(x)
    x = layers.Conv2D(6, 3, strides=2, padding="same", name="conv4")(x)
    x = layers.ReLU(name="relu4")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(10, name="dense")(x)
    out = layers.Softmax(name="softmax")(x)
    model = keras.Model(inp, out, name="tf2onnx_keras")

    rng = np.random.default_rng(7)
    # Keras initialises biases to zero and tf2onnx then drops them (no Conv bias, no Add after
    # MatMul): give every bias random values so they appear in the file.
    for w in model.weights:
        if w.path.endswith("/bias"):
            w.assign(rng.normal(0, 0.2, w.shape).astype(np.float32))
    for lyr in model.layers:
        if isinstance(lyr, layers.BatchNormalization):
            c = lyr.gamma.shape[0]
            lyr.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.2, c),
                             rng.normal(0, 0.2, c), rng.uniform(0.5, 2.0, c)])

    name = "tf2onnx_keras"
    model.save(p(f"{name}.keras"))
    x = rng.standard_normal((2, 16, 16, 3)).astype(np.float32)
    ref = model(x, training=False).numpy()
    np.save(p(f"{name}.keras_output.npy"), ref)

    spec = (tf.TensorSpec((None, 16, 16, 3), tf.float32, name="input"),)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=p(f"{name}.onnx"))
    finish(name, x, ref,
           {"must_have": ["Transpose", "Conv", "Mul", "Add", "Relu", "Reshape", "MatMul",
                          "Softmax"],
            "must_not_have": ["BatchNormalization"]},
           {"exporter": f"tf2onnx {tf2onnx.__version__} convert.from_keras(model, input_signature, "
                        f"opset=17) on Keras {keras.__version__} / TensorFlow {tf.__version__}",
            "layout": "NHWC", "extra_files": [f"{name}.keras", f"{name}.keras_output.npy"],
            "description": "Keras 3 functional model, NHWC input 16x16x3: Conv2D(no bias)+BN+ReLU "
                           "(BN folded), ZeroPadding2D((0,1),(0,1)) + Conv2D stride 2 'valid' (with "
                           "bias) + BN + ReLU (BN not folded: Mul + Add), "
                           "DepthwiseConv2D+BN+ReLU, Conv2D stride 2 'same' + ReLU, Flatten (4x4x6), "
                           "Dense(10), Softmax. tf2onnx_keras.keras is the Keras model, "
                           "tf2onnx_keras.keras_output.npy Keras's own output on the input."})


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "torch"
    if what not in ("torch", "tf", "json"):
        sys.exit("usage: make_fixtures.py torch|tf|json")
    if what == "torch":
        torch_part()
    elif what == "tf":
        tf_part()
    write_json()


if __name__ == "__main__":
    main()
