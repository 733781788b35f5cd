#!/bin/sh
# Seeds for the state target: the state.json of a real run of FuzzEntries.stateRecipeText (8 random 8x8 images),
# cut down to 0, 1, 2 and 3 completed stages.
# Usage: Fuzz/make_state_seeds.sh .build/debug/surgeon Fuzz/corpus/state   (needs python3 with numpy)
set -eu
SURGEON=$(realpath "$1")
DEST=$(realpath "$2")
WORK=$(mktemp -d)
cd "$WORK"
python3 -c "
import numpy as np
np.save('x.npy', np.random.RandomState(0).rand(8, 8, 8, 1).astype('float32'))
np.save('y.npy', (np.arange(8) % 3).astype('int64'))"
cat > recipe.yaml <<'YAML'
model: {architecture: vgg, input_shape: [8, 8, 1], classes: 3, width: 0.1}
data: {images: x.npy, labels: y.npy, train: [0, 6], validation: [6, 8]}
stages:
  - train: {epochs: 1, batch_size: 4}
  - prune: {strategy: l1, ratio: 0.5}
  - retrain: {epochs: 1, batch_size: 4}
YAML
"$SURGEON" run recipe.yaml -o runs --threads 1 > /dev/null 2>&1
python3 - "$DEST" <<'PY'
import json, sys
state = json.load(open("runs/state.json"))
for n in range(len(state["completed"]) + 1):
    cut = dict(state, completed=state["completed"][:n])
    json.dump(cut, open(f"{sys.argv[1]}/completed-{n}.json", "w"), sort_keys=True)
PY
rm -rf "$WORK"
