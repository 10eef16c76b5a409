#!/usr/bin/env bash
# The doctor's benchmark: short runs whose cause is known by construction, each checked against the
# diagnoses the monitor writes (Reports/<case>/findings.json). One line per case: expected cause,
# diagnoses found (ranked, severity:code@layer), pass or fail. Usage: docs/doctor/run.sh BINARY WORKDIR
# Every case uses the default thresholds; none is tuned per case.
set -u -o pipefail
BIN=${1:?binary}; WORK=${2:?work dir}
HERE=$(cd "$(dirname "$0")" && pwd)
CK=$WORK/Checkpoints; REP=$WORK/Reports
rm -rf "$CK" "$REP"; mkdir -p "$CK" "$REP"
COMMON=(--epochs 2 --snapshot-epochs 0,1,2 --train-limit 10000 --probes 256 --seed 0 --checkpoints "$CK" --reports "$REP")
HEALTHY=(--model zf-fmnist --max-filter-rms 0.1 --first-conv-init-std 0.01)
# The pathologies were measured and their thresholds chosen with the former default recipe (He's
# init for conv1, no filter renormalization); they keep it, so each case's cause stays the one built in.
FORMER=(--max-filter-rms 0 --first-conv-init-std 0)

train() { local run=$1; shift; local start=$SECONDS
  "$BIN" train "$@" "${COMMON[@]}" --run "$run" > "$WORK/$run.log" 2>&1
  echo $((SECONDS - start)) > "$WORK/$run.seconds"; }

train healthy        "${HEALTHY[@]}"
train lr-too-high    --model zf-fmnist --learning-rate 0.1 "${FORMER[@]}"
train lr-too-low     --model zf-fmnist --learning-rate 0.0003 "${FORMER[@]}"
train lr-diverges    --model zf-fmnist --learning-rate 1.0 "${FORMER[@]}"
train alexnet        --model alexnet-fmnist "${FORMER[@]}"
train alexnet-fixed  --model "$HERE/alexnet-fix-fmnist.json" "${FORMER[@]}"
python3 "$HERE/marker-fmnist.py" --train 10000 --test 1000 "$WORK/marker-data" > /dev/null
train marker         --model zf-fmnist --data folder --data-dir "$WORK/marker-data" "${FORMER[@]}"
# A trained healthy network with conv1 filter 5 replaced by a checkerboard of the same RMS.
rm -rf "$CK/checkerboard"; cp -r "$CK/healthy" "$CK/checkerboard"; rm -f "$CK/checkerboard/run.json"
python3 "$HERE/checkerboard.py" "$CK/checkerboard/epoch-0002.h5" conv1 5 > /dev/null
start=$SECONDS
"$BIN" monitor "$CK/checkerboard" --probes 256 --reports "$REP" > "$WORK/checkerboard.log" 2>&1
echo $((SECONDS - start)) > "$WORK/checkerboard.seconds"

# case | expected cause (codes, any of) | codes that must be absent | extra check
python3 "$HERE/judge.py" "$WORK" <<'CASES'
healthy|none (healthy recipe: no problem)|-|no-problem
lr-too-high|dead_filters,not_learning (lr 0.1)|-|
lr-too-low|frozen_features,stalled_updates (lr 0.0003)|-|
lr-diverges|diverged (lr 1.0)|-|
alexnet|projection_grid,aliasing (11x11 stride 4)|-|
alexnet-fixed|none of projection_grid,aliasing (7x7 stride 2)|projection_grid,aliasing|
checkerboard|aliasing (conv1 filter 5 = checkerboard)|-|aliased=conv1:5
marker|shortcut (class-coded marker)|-|
CASES
