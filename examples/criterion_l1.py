#!/usr/bin/env python3
"""An importance criterion for `surgeon --strategy exec:COMMAND`, in Python (numpy only).

    surgeon plan model.surgeon --strategy "exec:python3 examples/criterion_l1.py" --ratio 0.3 -o plan.json

It computes what the built-in `norm:p=1` criterion with the `mean` policy does: for every
prunable group, the L1 norm of each member's filters (every weight with an output-channel axis
and at least two dimensions: conv kernels, dense columns), averaged over the group's members.

The protocol (README, "Criteria in any language"): surgeon passes a fresh folder as the last
argument (and as $SURGEON_CRITERION_DIR) holding
  groups.json       the prunable groups: id, size, members (layer, type, role, channels, the
                    tensor holding them, group_channels: the group channel of each of that
                    tensor's channels or null, weights: name, shape, output_axis, input_axis)
  weights.npz       every layer's weights, named LAYER/WEIGHTNAME
  activations.npz   with --data: each member tensor's output on the first batch
and reads back scores.json: {"<group id>": [one finite score per group channel], ...} for every
prunable group (lower scores are deleted first).
"""

import json
import os
import sys

import numpy as np


def member_norms(member, weights, size):
    """One list of scores per filter weight of the member, indexed by group channel."""
    lists = []
    if member["role"] == "consumer":  # its input slices belong to this group, its filters do not
        return lists
    for weight in member["weights"]:
        axis = weight.get("output_axis")
        kernel = np.asarray(weights[weight["name"]], dtype=np.float64)
        if axis is None or kernel.ndim < 2:
            continue
        other_axes = tuple(a for a in range(kernel.ndim) if a != axis)
        norms = np.abs(kernel).sum(axis=other_axes)
        scores = np.full(size, -np.inf)
        for channel, group_channel in enumerate(member["group_channels"]):
            if group_channel is not None:  # several channels on one group channel keep the largest
                scores[group_channel] = max(scores[group_channel], norms[channel])
        lists.append(np.where(np.isneginf(scores), 0.0, scores))
    return lists


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.environ["SURGEON_CRITERION_DIR"]
    with open(os.path.join(folder, "groups.json")) as f:
        groups = json.load(f)["groups"]
    weights = np.load(os.path.join(folder, "weights.npz"))
    scores = {}
    for group in groups:
        lists = [s for m in group["members"] for s in member_norms(m, weights, group["size"])]
        # A group without filters gets equal scores (the built-in criterion leaves it unscored).
        mean = np.mean(np.stack(lists), axis=0) if lists else np.ones(group["size"])
        scores[str(group["id"])] = [float(v) for v in mean.astype(np.float32)]
    with open(os.path.join(folder, "scores.json"), "w") as f:
        json.dump(scores, f)


if __name__ == "__main__":
    main()
