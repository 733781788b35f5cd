#!/usr/bin/env python3
"""Generates the NumPy fixtures read by NpyTests.swift and NpzTests.swift.

Run from the package root (needs numpy; the files were made with numpy 2.4):

    python3 Tests/SurgeonFormatsTests/Fixtures/make_npy_fixtures.py

(zipfile stamps members written with writestr with the current time, so the archives it writes
differ from the committed ones in their timestamps only.)

It (re)writes the .npy/.npz files beside this script. The values follow simple formulas of the
flat index i that the Swift tests recompute (see `NpyFixtureValues` in NpyTests.swift):

    uint8   (i * 37 + 5) % 256
    int32   (i - 10) * 100003
    int64   (i - 3) * 10000000007
    float32 float32((i - 2) * 0.1)
    float64 (i - 2) * 0.1
"""
import io
import os
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def values(dtype, shape):
    n = int(np.prod(shape, dtype=np.int64))
    i = np.arange(n, dtype=np.int64)
    if dtype == np.uint8:
        v = (i * 37 + 5) % 256
    elif dtype == np.int32:
        v = (i - 10) * 100003
    elif dtype == np.int64:
        v = (i - 3) * 10000000007
    else:
        v = (i - 2).astype(np.float64) * 0.1
    return v.astype(dtype).reshape(shape)


def path(name):
    return os.path.join(HERE, name)


def npy_bytes(arr, version=None):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, version=version, allow_pickle=True)
    return buf.getvalue()


class Unseekable:
    """A write-only stream without seek or tell, like a pipe."""

    def __init__(self, raw):
        self.raw = raw

    def write(self, data):
        return self.raw.write(data)

    def flush(self):
        self.raw.flush()


def main():
    # One file per supported dtype, written by np.save; shapes cover [], [0], [3] and [2, 3, 4].
    np.save(path("uint8_2x3x4.npy"), values(np.uint8, (2, 3, 4)))
    np.save(path("int32_3.npy"), values(np.int32, (3,)))
    np.save(path("int64_scalar.npy"), values(np.int64, ()))
    np.save(path("float32_2x3x4.npy"), values(np.float32, (2, 3, 4)))
    np.save(path("float64_0.npy"), values(np.float64, (0,)))
    np.save(path("float64_3.npy"), values(np.float64, (3,)))

    # Explicit header versions 2.0 and 3.0 (np.save only uses them for huge/non-latin1 headers).
    with open(path("float64_3_v2.npy"), "wb") as f:
        f.write(npy_bytes(values(np.float64, (3,)), version=(2, 0)))
    with open(path("int32_3_v3.npy"), "wb") as f:
        f.write(npy_bytes(values(np.int32, (3,)), version=(3, 0)))

    # Big-endian data (surgeon byte-swaps it).
    np.save(path("int32_3_be.npy"), values(np.int32, (3,)).astype(">i4"))
    np.save(path("float64_3_be.npy"), values(np.float64, (3,)).astype(">f8"))

    # Inputs surgeon must reject.
    np.save(path("fortran.npy"), np.asfortranarray(values(np.float32, (2, 3))))
    np.save(path("object.npy"), np.array([1, "a", None], dtype=object), allow_pickle=True)
    np.save(path("complex64.npy"), np.array([1 + 2j, 3 - 4j], dtype=np.complex64))
    whole = npy_bytes(values(np.float32, (2, 3, 4)))
    with open(path("truncated.npy"), "wb") as f:
        f.write(whole[:-10])  # header intact, last 10 data bytes missing
    with open(path("overclaim.npy"), "wb") as f:  # header says 100 floats, 4 follow
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            buf, {"descr": "<f4", "fortran_order": False, "shape": (100,)})
        f.write(buf.getvalue() + values(np.float32, (4,)).tobytes())

    # .npz archives.
    members = dict(
        images=values(np.uint8, (2, 3, 4)),
        labels=values(np.int64, (3,)),
        weights=values(np.float32, (2, 3, 4)),
    )
    np.savez(path("savez.npz"), **members)
    np.savez_compressed(path("savez_compressed.npz"), **members)
    with zipfile.ZipFile(path("not_npy_member.npz"), "w") as z:
        z.writestr("a.npy", npy_bytes(values(np.int32, (3,))))
        z.writestr("readme.txt", b"not an array\n")
    with zipfile.ZipFile(path("fortran_member.npz"), "w") as z:
        z.writestr("good.npy", npy_bytes(values(np.int32, (3,))))
        z.writestr("bad.npy", npy_bytes(np.asfortranarray(values(np.float32, (2, 3)))))
    # Data descriptors (flag bit 3), as zipfile writes them to a stream it cannot seek: x stored,
    # y deflated.
    with open(path("data_descriptor.npz"), "wb") as raw:
        with zipfile.ZipFile(Unseekable(raw), "w") as z:
            z.writestr("x.npy", npy_bytes(values(np.float32, (2, 3))))
            z.writestr("y.npy", npy_bytes(values(np.int64, (3,))), compress_type=zipfile.ZIP_DEFLATED)
    with open(path("savez.npz"), "rb") as f:
        whole = f.read()
    with open(path("cut_short.npz"), "wb") as f:
        f.write(whole[: len(whole) // 2])


if __name__ == "__main__":
    main()
