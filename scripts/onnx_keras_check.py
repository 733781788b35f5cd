"""Checks that ONNX models converted to .keras by surgeon load in real Keras with the outputs
onnxruntime gives on the original.

    surgeon convert M.onnx /tmp/M.keras     # for each fixture, then:
    KERAS_BACKEND=tensorflow python scripts/onnx_keras_check.py /tmp Tests/SurgeonONNXTests/Fixtures/onnx

Needs Keras 3.15 (Tests/SurgeonONNXTests/Fixtures/onnx/requirements-tf.txt). The fixtures' saved
inputs are in each ONNX model's own layout (NCHW for torch exports), transposed to NHWC for Keras.
"""
import json
import sys
from pathlib import Path

import keras
import numpy as np


def main(converted: Path, fixtures: Path) -> int:
    failures = 0
    for keras_file in sorted(converted.glob("*.keras")):
        name = keras_file.stem
        inputs, expected = fixtures / f"{name}.input.npy", fixtures / f"{name}.output.npy"
        if not inputs.exists() or not expected.exists():
            continue
        models = json.loads((fixtures / "fixtures.json").read_text())["models"]
        entry = next((m for m in models if m["file"] == f"{name}.onnx"), None)
        layout = entry["inputs"][0].get("layout") if entry else "NCHW"
        x = np.load(inputs)
        if layout == "NCHW":
            x = x.transpose(0, 2, 3, 1)
        try:
            y = keras.saving.load_model(keras_file).predict(x, verbose=0)
            diff = float(np.abs(y - np.load(expected)).max())
            print(f"{name}: Keras vs onnxruntime max abs diff {diff:.2e}")
            failures += diff > 1e-4
        except Exception as error:  # report and go on
            print(f"{name}: FAILED: {str(error)[:300]}")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
