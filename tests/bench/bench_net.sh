#!/bin/sh
# bench_net: the CNN engine's training and inference images/s (batch 64) next to
# PyTorch's torch_ref.py bench on the same machine in the same run.
# Run by tests/bench/run.sh (make bench), which exports EMO_BIN and EMO_SHARED_DATA.
# THREADS (default 2) sets the thread count of both sides.
set -u
threads=${THREADS:-2}
batch=${BATCH:-64}
ref=${EMO_TORCH_REF:-${EMO_SHARED_DATA:-../shared/data}/../reference}/torch_ref.py
echo "emo:     $("$EMO_BIN/emotrain" --bench --batch "$batch" --threads "$threads" --quiet)"
if [ -f "$ref" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    echo "pytorch: $(THREADS=$threads /usr/bin/python3 "$ref" bench "$batch")"
else
    echo "pytorch: skipped (no $ref or no python3-torch)"
fi
