#!/usr/bin/env bash
# The `wann` workflow on a new gymnasium environment, no config written by hand:
#   init -> run -> evaluate -> tune -> evaluate the tuned network.
# Budget: GENERATIONS (default 30) and POP (default 64); OUT (default pendulum-run).
# tests/test_cli_workflow.py runs this script with a tiny budget.
set -euo pipefail
WANN=${WANN:-wann}
OUT=${OUT:-pendulum-run}
GENERATIONS=${GENERATIONS:-30}
POP=${POP:-64}

$WANN init Pendulum-v1 --task-option scale_actions=true --out "$OUT.cfg" --overwrite
$WANN run "$OUT.cfg" --out "$OUT" --overwrite --generations "$GENERATIONS" \
    --set NEAT.pop_size="$POP" --champion-episodes 2
# the champion records its task and options: no --task needed
$WANN evaluate "$OUT/champion.json" --episodes 5
$WANN tune "$OUT/champion.json" --method cma --generations "${TUNE_GENERATIONS:-20}" \
    --test-episodes 5 --overwrite
$WANN evaluate "$OUT/champion.cma.json" --episodes 5
