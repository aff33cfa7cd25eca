#!/bin/sh
# Rebuild the bundled Llama-style pair. Run by hand on a developer machine; CI never retrains.
# Needs the Debian packages listed in make_llama.py and Debian's /usr/bin/python3.
#
# Usage: models/llama/build.sh [TARGET_SECONDS] [DISTILL_SECONDS]   (defaults 2100 and 700)
#   1. the BPE tokenizer (sentencepiece, seconds) and the tokenized corpus
#   2. target and draft train side by side, one torch thread each (the draft stops 600 s early)
#   3. the draft is distilled from the finished target (0.7 soft labels, 0.3 next token)
#   4. export (fp32/, fp16/, reference files) and evaluation (metrics.json)
set -eu
cd "$(dirname "$0")"
PY=/usr/bin/python3
TARGET_SECONDS=${1:-2100}
DISTILL_SECONDS=${2:-700}
mkdir -p ckpt
$PY make_llama.py tokenizer > ckpt/tokenizer.log 2>&1
$PY make_llama.py train target "$TARGET_SECONDS" > ckpt/train_target.log 2>&1 &
p1=$!
$PY make_llama.py train draft0 $(( TARGET_SECONDS - 600 )) --config draft --lr 3e-3 \
    > ckpt/train_draft0.log 2>&1 &
p2=$!
wait $p1
wait $p2
$PY make_llama.py train draft "$DISTILL_SECONDS" --init-from draft0 --teacher target \
    --threads 2 --lr 1.5e-3 --warmup 20 > ckpt/train_draft.log 2>&1
$PY make_llama.py export
$PY make_llama.py evaluate
