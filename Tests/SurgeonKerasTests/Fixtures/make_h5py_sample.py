#!/usr/bin/env python3
"""Generates h5py-sample.h5, read by HDF5H5pyFixtureTests.swift.

Run from the package root (needs h5py and numpy; the file was made with h5py 3.16 on HDF5 2.0):

    python3 Tests/SurgeonKerasTests/Fixtures/make_h5py_sample.py

It writes the file beside this script with h5py's defaults (libver "earliest", as Keras files
are written) and the string types Keras uses (section 3 and 4.4 of KERAS-FORMAT.md):

    /                                   @keras_version  "3.15.1"        vlen UTF-8 (a Python str)
                                        @backend        "tensorflow"    vlen ASCII (bytes)
                                        @layer_names    ["dense", "norm"]  1-D vlen ASCII
    /layers/dense/vars                  @name           "dense_é"       vlen UTF-8
                                        @weight_names   []              h5py's empty list: float64 (0,)
    /layers/dense/vars/0                float32 (2, 3)  0.5 * i - 1
    /layers/dense/vars/1                int64 ()        10000000007
    /layers/dense/vars/2                float16 (4,)    [0.5, -2, 1024, 0.0999755859375]
    /layers/dense/vars/3                float64 (2, 2)  [0.1, -0.2, 1e-3, 12345.678]
    /legacy                             @weight_names   [b"conv/kernel:0", b"b:0"]  fixed-length S13, NUL-padded (Keras 2.4)
"""
import os

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    path = os.path.join(HERE, "h5py-sample.h5")
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "3.15.1"
        f.attrs.create("backend", b"tensorflow", dtype=h5py.string_dtype("ascii"))
        f.attrs.create("layer_names", [b"dense", b"norm"], dtype=h5py.string_dtype("ascii"))
        vars_ = f.create_group("layers/dense/vars")
        vars_.attrs["name"] = "dense_é"
        vars_.attrs["weight_names"] = []
        vars_.create_dataset("0", data=(0.5 * np.arange(6) - 1).reshape(2, 3).astype(np.float32))
        vars_.create_dataset("1", data=np.int64(10_000_000_007))
        vars_.create_dataset("2", data=np.array([0.5, -2, 1024, 0.1], dtype=np.float16))
        vars_.create_dataset("3", data=np.array([[0.1, -0.2], [1e-3, 12345.678]], dtype=np.float64))
        legacy = f.create_group("legacy")
        legacy.attrs["weight_names"] = np.array([b"conv/kernel:0", b"b:0"])
    with h5py.File(path, "r") as f:
        assert f["legacy"].attrs["weight_names"].dtype == np.dtype("S13")
        assert f["layers/dense/vars"].attrs["weight_names"].dtype == np.float64
        assert f["layers/dense/vars/2"][3] == np.float16(0.1)
    print("wrote", path)


if __name__ == "__main__":
    main()
