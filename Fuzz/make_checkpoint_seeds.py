#!/usr/bin/env python3
"""Seeds for the checkpoint target: real `last.surgeon` checkpoints written by `surgeon train`
(SGD and Adam, vgg and mobilenetv2 on 8 random 8x8 images), each also crafted past the checksum:
without the run fingerprint (so mutations reach the optimizer slots), and that with a negative epoch.
Usage: Fuzz/make_checkpoint_seeds.py .build/debug/surgeon Fuzz/corpus/checkpoint  (needs numpy)"""
import os, re, subprocess, sys, tempfile
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model_seeds as seeds

surgeon, dest = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])

work = tempfile.mkdtemp()
os.chdir(work)
np.save("x.npy", np.random.RandomState(0).rand(8, 8, 8, 1).astype("float32"))
np.save("y.npy", (np.arange(8) % 3).astype("int64"))
runs = {"vgg-sgd": ("vgg", "sgd"), "vgg-adam": ("vgg", "adam"), "mobilenetv2-sgd": ("mobilenetv2", "sgd")}
for name, (arch, optimizer) in runs.items():
    subprocess.run([surgeon, "new", arch, "--input-shape", "8,8,1", "--classes", "3", "--width", "0.1",
                    "-o", f"{name}.surgeon"], check=True, capture_output=True)
    subprocess.run([surgeon, "train", f"{name}.surgeon", "--data", "x.npy", "--labels", "y.npy", "--epochs", "1",
                    "--batch-size", "4", "--optimizer", optimizer, "--checkpoint-dir", name, "-o", "out.surgeon"],
                   check=True, capture_output=True)
    raw = open(os.path.join(name, "last.surgeon"), "rb").read()
    open(os.path.join(dest, f"{name}.surgeon"), "wb").write(raw)
    header, data = seeds.split(raw)
    unfingerprinted = re.sub(rb',?"startedFrom":\{[^}]*\}', b"", header, count=1)
    crafted = {
        "no-fingerprint": unfingerprinted,
        "negative-epoch": re.sub(rb'"epoch":\d+', b'"epoch":-1', unfingerprinted, count=1),
    }
    for edit, changed in crafted.items():
        assert changed != header
        open(os.path.join(dest, f"{name}-{edit}.surgeon"), "wb").write(seeds.build(raw, changed, data))
    print("wrote", name)
