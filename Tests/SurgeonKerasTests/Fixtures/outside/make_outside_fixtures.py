#!/usr/bin/env python3
"""Generates the model files in this folder whose weights point outside the file.

Run from the package root (needs only h5py and numpy; made with h5py 3.16 on HDF5 2.0):

    python3 -m venv /work/venv-outside && /work/venv-outside/bin/pip install h5py numpy
    /work/venv-outside/bin/python Tests/SurgeonKerasTests/Fixtures/outside/make_outside_fixtures.py

Every model is the same tiny one, Input(4) -> Dense(3, "fc1") -> Dense(2, "fc2"), written twice:
as a legacy Keras 2 `.h5` (`model_config` + `model_weights`, as tf.keras 2.15 writes it) and as a
Keras 3 `.keras` archive (config.json, metadata.json, model.weights.h5, stored uncompressed as
Keras writes it; the layer configs are those of the committed keras/sequential.keras). In each
variant only fc1's kernel (float32 (4, 3), 48 bytes: `layers/dense/vars/0`, or
`model_weights/fc1/fc1/kernel:0` in the `.h5`) is replaced:

    clean.*              the kernel stored in the file (the control: surgeon reads it)
    marker-stored.*      the kernel stored in the file, its bytes MARKER (the control for the
                         tests that scan outputs for MARKER: a model that holds it legitimately)
    external-relative.*  external storage in "outside-marker.bin" (relative: HDF5 would open it
                         in the current directory)
    external-absolute.*  external storage in "/tmp/surgeon-outside-fixture/marker.bin"
    external-fifo.*      external storage in "/tmp/surgeon-outside-fixture/fifo" (the tests make a
                         FIFO there: opening it would block forever)
    virtual.*            a virtual dataset mapping "/data" of "outside-source.h5"
    virtual-fifo.*       a virtual dataset mapping "/data" of the FIFO path
    external-link.*      an external link to "/data" of "outside-source.h5"
    external-link-fifo.* an external link to "/data" of the FIFO path
    soft-link.*          a soft link to "/stash/kernel", a real (4, 3) dataset in the same file
    group-soft-link.keras  the group layers/dense is a soft link to "/stash/dense", a copy of the
                         real group (a link on the way to the dataset, not the dataset's own)
    unknown-filter.h5    the kernel chunked and deflated, its filter id then patched from 1 to
                         32001 (a filter HDF5 lacks, so HDF5 would look for a plugin library in
                         HDF5_PLUGIN_PATH and load every lib*.so there)

and `outside-source.h5` holds "/data", float32 (4, 3), whose 48 bytes are MARKER, as does
`outside-marker.bin`: the bytes a reader that followed the reference would copy into its output.

Nothing is written to the external files while generating: the datasets are created without data
(HDF5 writes no fill value unless one is set), which `main` checks.
"""
import copy
import io
import json
import os
import tempfile
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SEQUENTIAL = os.path.join(HERE, "..", "keras", "sequential.keras")

MARKER = b"SGMK" * 12  # 48 bytes, the size of fc1's kernel
RELATIVE_MARKER = "outside-marker.bin"
ABSOLUTE_DIR = "/tmp/surgeon-outside-fixture"
ABSOLUTE_MARKER = ABSOLUTE_DIR + "/marker.bin"
FIFO = ABSOLUTE_DIR + "/fifo"
SOURCE = "outside-source.h5"
KERNEL_SHAPE = (4, 3)

RNG = np.random.default_rng(14)
WEIGHTS = {
    "fc1": [RNG.normal(size=KERNEL_SHAPE).astype(np.float32), RNG.normal(size=(3,)).astype(np.float32)],
    "fc2": [RNG.normal(size=(3, 2)).astype(np.float32), RNG.normal(size=(2,)).astype(np.float32)],
}

# The kinds of reference: name -> function(group, name) that puts the kernel there.


def external(path):
    def make(group, name):
        group.create_dataset(name, shape=KERNEL_SHAPE, dtype="<f4", external=[(path, 0, len(MARKER))])

    return make


def virtual(path):
    def make(group, name):
        layout = h5py.VirtualLayout(shape=KERNEL_SHAPE, dtype="<f4")
        layout[:] = h5py.VirtualSource(path, "/data", shape=KERNEL_SHAPE)
        group.create_virtual_dataset(name, layout)

    return make


def external_link(path):
    def make(group, name):
        group[name] = h5py.ExternalLink(path, "/data")

    return make


def soft_link(group, name):
    stash = group.file.require_group("stash")
    stash.create_dataset("kernel", data=WEIGHTS["fc1"][0])
    group[name] = h5py.SoftLink("/stash/kernel")


def stored(group, name):
    group.create_dataset(name, data=WEIGHTS["fc1"][0])


def deflated(group, name):
    group.create_dataset(name, data=WEIGHTS["fc1"][0], chunks=KERNEL_SHAPE, compression="gzip")


def patch_filter_id(path):
    """Turns the one deflate filter (id 1) of a version 1 pipeline message into id 32001."""
    data = bytearray(open(path, "rb").read())
    # version 1, one filter, 6 reserved bytes, then the filter id (2 bytes, little-endian)
    pattern = bytes([1, 1, 0, 0, 0, 0, 0, 0, 1, 0])
    assert data.count(pattern) == 1, data.count(pattern)
    at = data.find(pattern) + 8
    data[at:at + 2] = (32001).to_bytes(2, "little")
    open(path, "wb").write(bytes(data))


def stored_marker(group, name):
    group.create_dataset(name, data=np.frombuffer(MARKER, dtype="<f4").reshape(KERNEL_SHAPE))


VARIANTS = {
    "clean": stored,
    "marker-stored": stored_marker,
    "external-relative": external(RELATIVE_MARKER),
    "external-absolute": external(ABSOLUTE_MARKER),
    "external-fifo": external(FIFO),
    "virtual": virtual(SOURCE),
    "virtual-fifo": virtual(FIFO),
    "external-link": external_link(SOURCE),
    "external-link-fifo": external_link(FIFO),
    "soft-link": soft_link,
}

# MARK: - Keras 3 .keras


def keras_config():
    with zipfile.ZipFile(SEQUENTIAL) as archive:
        config = json.loads(archive.read("config.json"))
    layers = config["config"]["layers"]
    input_layer = copy.deepcopy(layers[0])
    input_layer["config"]["batch_shape"] = [None, 4]
    dense = layers[-1]
    assert dense["class_name"] == "Dense"
    fcs = []
    for name, units, fan_in in (("fc1", 3, 4), ("fc2", 2, 3)):
        layer = copy.deepcopy(dense)
        layer["config"]["name"] = name
        layer["config"]["units"] = units
        layer["build_config"] = {"input_shape": [None, fan_in]}
        fcs.append(layer)
    config["config"]["layers"] = [input_layer] + fcs
    config["config"]["name"] = "outside"
    config["config"]["build_input_shape"] = [None, 4]
    config["build_config"] = {"input_shape": [None, 4]}
    return config


def keras_weights(make_kernel, soft_group=False):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", libver="earliest") as f:
        for group_name, layer in (("dense", "fc1"), ("dense_1", "fc2")):
            where = f"stash/{group_name}" if soft_group and layer == "fc1" else f"layers/{group_name}"
            vars_ = f.create_group(f"{where}/vars")
            vars_.attrs["name"] = layer
            if layer == "fc1":
                make_kernel(vars_, "0")
            else:
                vars_.create_dataset("0", data=WEIGHTS[layer][0])
            vars_.create_dataset("1", data=WEIGHTS[layer][1])
        if soft_group:
            f["layers/dense"] = h5py.SoftLink("/stash/dense")
        f.create_group("vars").attrs["name"] = "outside"
    return buffer.getvalue()


def write_keras(path, weights):
    metadata = {"keras_version": "3.15.1", "date_saved": "2026-12-02@06:00:00"}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in (
            ("metadata.json", json.dumps(metadata)), ("config.json", json.dumps(keras_config())),
            ("model.weights.h5", weights),
        ):
            # A fixed date, so that regenerating changes only what changed.
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 12, 2, 6, 0, 0)), data)


# MARK: - Keras 2 legacy .h5


def legacy_config():
    def dense(name, units, inbound):
        return {
            "class_name": "Dense",
            "config": {
                "name": name, "trainable": True, "dtype": "float32", "units": units, "activation": "linear",
                "use_bias": True,
                "kernel_initializer": {
                    "module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": None},
                    "registered_name": None,
                },
                "bias_initializer": {
                    "module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None,
                },
                "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                "kernel_constraint": None, "bias_constraint": None,
            },
            "name": name,
            "inbound_nodes": [[[inbound, 0, 0, {}]]],
        }

    return {
        "class_name": "Functional",
        "config": {
            "name": "outside",
            "trainable": True,
            "layers": [
                {
                    "class_name": "InputLayer",
                    "config": {
                        "batch_input_shape": [None, 4], "dtype": "float32", "sparse": False, "ragged": False,
                        "name": "x",
                    },
                    "name": "x",
                    "inbound_nodes": [],
                },
                dense("fc1", 3, "x"),
                dense("fc2", 2, "fc1"),
            ],
            "input_layers": [["x", 0, 0]],
            "output_layers": [["fc2", 0, 0]],
        },
        "keras_version": "2.15.0",
        "backend": "tensorflow",
    }


def write_legacy(path, make_kernel):
    with h5py.File(path, "w", libver="earliest") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["model_config"] = json.dumps(legacy_config())
        weights = f.create_group("model_weights")
        weights.attrs["backend"] = "tensorflow"
        weights.attrs["keras_version"] = "2.15.0"
        weights.attrs["layer_names"] = ["x", "fc1", "fc2"]
        weights.create_group("x").attrs["weight_names"] = np.array([], dtype=np.float64)
        for layer in ("fc1", "fc2"):
            group = weights.create_group(layer)
            group.attrs["weight_names"] = [f"{layer}/kernel:0", f"{layer}/bias:0"]
            inner = group.create_group(layer)
            if layer == "fc1":
                make_kernel(inner, "kernel:0")
            else:
                inner.create_dataset("kernel:0", data=WEIGHTS[layer][0])
            inner.create_dataset("bias:0", data=WEIGHTS[layer][1])


def main():
    with h5py.File(os.path.join(HERE, SOURCE), "w", libver="earliest") as f:
        f.create_dataset("data", data=np.frombuffer(MARKER, dtype="<f4").reshape(KERNEL_SHAPE))
    with open(os.path.join(HERE, RELATIVE_MARKER), "wb") as marker:
        marker.write(MARKER)
    # Created from an empty directory, so that HDF5 would have nothing to write into if it tried.
    previous = os.getcwd()
    with tempfile.TemporaryDirectory() as empty:
        os.chdir(empty)
        try:
            for name, make_kernel in VARIANTS.items():
                write_legacy(os.path.join(HERE, f"{name}.h5"), make_kernel)
                write_keras(os.path.join(HERE, f"{name}.keras"), keras_weights(make_kernel))
            write_keras(os.path.join(HERE, "group-soft-link.keras"), keras_weights(stored, soft_group=True))
            write_legacy(os.path.join(HERE, "unknown-filter.h5"), deflated)
            patch_filter_id(os.path.join(HERE, "unknown-filter.h5"))
            assert os.listdir(empty) == [], os.listdir(empty)
        finally:
            os.chdir(previous)
    assert not os.path.exists(ABSOLUTE_MARKER) or open(ABSOLUTE_MARKER, "rb").read() in (b"", MARKER)
    with h5py.File(os.path.join(HERE, "external-relative.h5"), "r") as f:
        assert f["model_weights/fc1/fc1/kernel:0"].external == [(RELATIVE_MARKER, 0, 48)]
    with h5py.File(os.path.join(HERE, "virtual.h5"), "r") as f:
        assert f["model_weights/fc1/fc1/kernel:0"].is_virtual
    for name in sorted(os.listdir(HERE)):
        print(f"{os.path.getsize(os.path.join(HERE, name)):7d} {name}")


if __name__ == "__main__":
    main()
