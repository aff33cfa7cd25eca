#!/bin/sh
# Rebuild the bundled model pair. Run by hand on a developer machine; CI never retrains.
#
# Needs Debian bookworm packages (as root):
#   apt-get update
#   DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
#       python3-torch python3-onnx python3-numpy libopenblas0-pthread fortunes jargon-text
# and runs Debian's /usr/bin/python3 (not a pyenv/venv python3).
#
# Usage: models/build.sh [TRAIN_SECONDS]        (default 3200: about 55 min training + 5 min)
#
# Two training slots run in parallel, one torch thread each (training is time-bounded):
#   phase 1 (600 s):  slot 1: target, 4 layers x d128 x 4 heads, 128-byte windows
#                             (its cosine lr schedule spans the whole TRAIN_SECONDS)
#                     slot 2: draft, 1 layer x d64 x 2 heads, 128-byte windows
#   phase 2 (rest):   slot 1: target continues, every 2nd step on full 512-byte windows
#                     slot 2: draft continues 300 s the same way, then a second target
#                             candidate (2 layers x d128 x 4 heads) trains until the end
# `select` keeps the target candidate with the lower held-out bits/byte, then export and
# evaluate write the committed files. Logs and checkpoints go to models/ckpt/ (not committed).
set -eu
cd "$(dirname "$0")"
PY=/usr/bin/python3
TRAIN_SECONDS=${1:-3200}
mkdir -p ckpt
start=$(date +%s)
$PY make_models.py corpus > ckpt/corpus.json
# phase 1
$PY make_models.py train target 4 128 4 600 --lr-horizon "$TRAIN_SECONDS" --lr 2e-3 \
    --batch 8 --seq 128 > ckpt/train_target.log 2>&1 &
p1=$!
$PY make_models.py train draft 1 64 2 600 --lr 3e-3 --batch 16 --seq 128 \
    > ckpt/train_draft.log 2>&1 &
p2=$!
wait $p1
wait $p2
# phase 2
end=$(( start + TRAIN_SECONDS ))
$PY make_models.py train target 4 128 4 $(( end - $(date +%s) )) --init-from target \
    --lr 1.5e-3 --warmup 50 --batch 8 --seq 128 --long-every 2 > ckpt/train_target_p2.log 2>&1 &
p1=$!
(
  $PY make_models.py train draft 1 64 2 300 --init-from draft --lr 1.5e-3 --warmup 50 \
      --batch 16 --seq 128 --long-every 2 > ckpt/train_draft_p2.log 2>&1
  $PY make_models.py train target2 2 128 4 $(( end - $(date +%s) )) --lr 2e-3 \
      --batch 8 --seq 128 --long-every 2 > ckpt/train_target2.log 2>&1
) &
p2=$!
wait $p1
wait $p2
for step in select export evaluate; do
  $PY make_models.py --threads 2 $step > ckpt/$step.log 2>&1 || { tail -n 40 ckpt/$step.log; exit 1; }
  grep -v -i warn ckpt/$step.log
done
echo "total wall time: $(( $(date +%s) - start )) s" | tee ckpt/walltime.txt
