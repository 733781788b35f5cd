#!/usr/bin/env python3
"""Crafted .surgeon seeds past the (unkeyed) checksum: edits the header JSON of a seed, fixes the
header length and re-computes the checksum (same mixing as ModelFile.checksum).
Usage: Fuzz/make_model_seeds.py Fuzz/corpus/model/vgg.surgeon Fuzz/corpus/model
The keras-*.surgeon seeds are the Keras test fixtures converted:
  surgeon convert Tests/SurgeonKerasTests/Fixtures/keras/NAME.keras Fuzz/corpus/model/keras-NAME.surgeon"""
import re, struct, sys, os

M = (1 << 64) - 1

def checksum(header, data):
    h = 0x243F6A8885A308D3
    for part in (header, data):
        words = len(part) // 8
        for i in range(words):
            w = struct.unpack_from("<Q", part, i * 8)[0]
            h = ((h ^ w) * 0x9E3779B97F4A7C15) & M
            h = ((h << 31) | (h >> 33)) & M
        tail = 0
        for b in part[words * 8:]:
            tail = ((tail << 8) | b) & M
        h = ((h ^ tail ^ len(part)) * 0xC2B2AE3D27D4EB4F) & M
        h ^= h >> 29
    return h

def build(prefix, header, data):
    out = bytearray(prefix[:40])
    struct.pack_into("<Q", out, 16, len(header))
    struct.pack_into("<Q", out, 24, len(data))
    struct.pack_into("<Q", out, 32, checksum(header, data))
    return bytes(out) + header + data

def split(raw):
    """The header JSON and the data of a .surgeon file."""
    hl, dl = struct.unpack_from("<QQ", raw, 16)
    return raw[40:40 + hl], raw[40 + hl:40 + hl + dl]

if __name__ == "__main__":
    src, dest = sys.argv[1], sys.argv[2]
    raw = open(src, "rb").read()
    hl, dl = struct.unpack_from("<QQ", raw, 16)
    header, data = raw[40:40 + hl], raw[40 + hl:40 + hl + dl]
    assert build(raw, header, data) == raw, "checksum re-implementation differs"
    edits = {
        "kernel-1e30": (rb'"kernel_size":\s*\[[^\]]*\]', b'"kernel_size":1e30'),
        "strides-2p62": (rb'"strides":\s*\[[^\]]*\]', b'"strides":[4611686018427387904,1]'),
        "batch-shape-1e30": (rb'"batch_shape":\s*\[[^\]]*\]', b'"batch_shape":[null,1e30,8,1]'),
        "filters-negative": (rb'"filters":\s*\d+', b'"filters":-3'),
        "units-huge": (rb'"units":\s*\d+', b'"units":2147483647'),
    }
    for name, (pattern, replacement) in edits.items():
        changed, n = re.subn(pattern, replacement, header, count=1)
        if n:
            open(os.path.join(dest, f"crafted-{name}.surgeon"), "wb").write(build(raw, changed, data))
            print("wrote", name)
