#!/usr/bin/env bash
# End-to-end checks of the two ways to extend surgeon, run by `make test` after the suite:
#
# 1. A built-in layer type is one file plus one registry line: the new-layer-rule plugin
#    generates ChannelGate, one line adds it to LayerRegistry.builtinTypes, and with no other
#    file touched (checked with git status) the registry-driven tests, `surgeon rules` and
#    reading a .keras file whose custom class is ChannelGate pass. The tree is restored after.
# 2. An extension package built against this checkout by path (`surgeon-scaffold package`)
#    builds, passes its own tests (surgeon's generic checkers), and its binary lists its layer
#    type, criterion and architecture, reads and prunes the same .keras file, and runs a recipe
#    that names them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
FIXTURE="$ROOT/Tests/SurgeonKerasTests/Fixtures/keras/custom/channel_gate.keras"
REGISTRY=Sources/Layers/LayerRegistry+Standard.swift
LAYER=Sources/Layers/ChannelGate.swift
LAYER_TEST=Tests/LayersTests/ChannelGateTests.swift
WORK=$(mktemp -d)

step() { printf '\n== %s\n' "$*" >&2; }
fail() { printf 'check-extensions: %s\n' "$*" >&2; exit 1; }
expect() { # expect TEXT PATTERN WHAT
    grep -q -- "$2" <<<"$1" || { printf '%s\n' "$1" >&2; fail "$3: expected '$2'"; }
}

for f in "$LAYER" "$LAYER_TEST"; do [ ! -e "$f" ] || fail "$f exists already; this check generates it"; done
cp "$REGISTRY" "$WORK/registry.swift"
restore() { cp "$WORK/registry.swift" "$REGISTRY"; rm -f "$LAYER" "$LAYER_TEST"; }
trap 'restore; rm -rf "$WORK"' EXIT

step "1. a new built-in layer type: the plugin's file plus one registry line"
before=$(git status --porcelain --untracked-files=all)
swift package --allow-writing-to-package-directory new-layer-rule --name ChannelGate --kind per-channel
sed -i 's/^        InputLayer\.self,$/        InputLayer.self, ChannelGate.self,/' "$REGISTRY"
grep -q 'ChannelGate.self' "$REGISTRY" || fail "could not add the registry line to $REGISTRY"
after=$(git status --porcelain --untracked-files=all)
changed=$( { diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") || true; } | sed -n 's/^> //p' | sort)
wanted=$(printf '%s\n' " M $REGISTRY" "?? $LAYER_TEST" "?? $LAYER" | sort)
[ "$changed" = "$wanted" ] || fail "expected exactly these changes:
$wanted
got:
$changed"
swift build --build-tests
swift test --skip-build --disable-swift-testing --filter 'LayersTests|SurgeonKerasTests|SurgeonCLITests.SurgeryCommandTests'
rules=$(.build/debug/surgeon rules)
expect "$rules" 'ChannelGate *identity' "surgeon rules"
inspect=$(.build/debug/surgeon inspect "$FIXTURE")
expect "$inspect" 'ChannelGate' "surgeon inspect of a .keras with the ChannelGate class"
restore
swift build --product surgeon-scaffold

step "2. an extension package built against this checkout"
PKG="$WORK/gated-surgeon"
.build/debug/surgeon-scaffold package --name GatedSurgeon --output "$PKG" --surgeon-path "$ROOT"
(cd "$PKG" && swift build --build-tests && swift test --skip-build --disable-swift-testing)
BIN="$PKG/.build/debug/gated-surgeon"
expect "$("$BIN" rules)" 'ChannelGate *identity' "gated-surgeon rules"
strategies=$("$BIN" strategies)
for entry in 'criterion *max-abs ' 'policy *min ' 'regularizer *l2-scale '; do expect "$strategies" "$entry" "gated-surgeon strategies"; done
expect "$("$BIN" prune --help)" 'max-abs' "gated-surgeon prune --help"
expect "$("$BIN" new --help)" 'gated-net' "gated-surgeon new --help"
expect "$("$BIN" inspect "$FIXTURE")" 'ChannelGate' "gated-surgeon inspect"
"$BIN" prune "$FIXTURE" --strategy max-abs --ratio 0.5 -o "$WORK/pruned.keras"
expect "$("$BIN" inspect "$WORK/pruned.keras")" 'ChannelGate' "gated-surgeon inspect of the pruned file"
cat > "$WORK/recipe.yaml" <<YAML
model: {architecture: gated-net, input_shape: [28, 28, 1], classes: 10, width: 0.5}
data: {train: [0, 512], validation: [4000, 4256]}
stages:
  - train: {epochs: 1}
  - sparse: {epochs: 1, regularizer: l2-scale, lambda: 0.001}
  - prune: {strategy: max-abs, policy: min, ratio: 0.5}
  - eval: {}
  - export: {path: gated-pruned.keras}
YAML
"$BIN" run "$WORK/recipe.yaml" -o "$WORK/run" --json > "$WORK/run.json"
expect "$(cat "$WORK/run.json")" '"stage"' "gated-surgeon run"
[ -s "$WORK/run/gated-pruned.keras" ] || fail "the recipe did not export gated-pruned.keras"
expect "$("$BIN" inspect "$WORK/run/gated-pruned.keras")" 'ChannelGate' "gated-surgeon inspect of the exported model"
step "check-extensions: all passed"
