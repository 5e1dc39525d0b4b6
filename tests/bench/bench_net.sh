#!/bin/sh
# bench_net: the CNN engine's training and inference images/s (batch 64) next to
# PyTorch's torch_ref.py bench on the same machine in the same run.
# Run by tests/bench/run.sh (make bench), which exports EMO_BIN and EMO_SHARED_DATA.
# THREADS (default 2) sets the thread count of both sides. ROUNDS (default 3)
# alternates the programs that many times (a shared machine's load drifts;
# alternating spreads it over both sides) and prints the medians; inference
# is timed in fp32 and, on AVX512_BF16 CPUs, bf16 (emotrain --precision).
set -u
threads=${THREADS:-2}
batch=${BATCH:-64}
rounds=${ROUNDS:-3}
ref=${EMO_TORCH_REF:-${EMO_SHARED_DATA:-../shared/data}/../reference}/torch_ref.py
torch=0
if [ -f "$ref" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then torch=1; fi
bf16=0
grep -q avx512_bf16 /proc/cpuinfo 2>/dev/null && bf16=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
i=0
while [ "$i" -lt "$rounds" ]; do
    i=$((i + 1))
    l=$(OMP_WAIT_POLICY=passive "$EMO_BIN/emotrain" --bench --batch "$batch" --threads "$threads" --quiet)
    echo "emo:      $l"; echo "fp32 $l" >>"$log"
    if [ "$bf16" = 1 ]; then
        l=$(OMP_WAIT_POLICY=passive "$EMO_BIN/emotrain" --bench --batch "$batch" --threads "$threads" --precision bf16 --quiet)
        echo "emo bf16: $l"; echo "bf16 $l" >>"$log"
    fi
    if [ "$torch" = 1 ]; then
        l=$(THREADS=$threads /usr/bin/python3 "$ref" bench "$batch")
        echo "pytorch:  $l"; echo "torch $l" >>"$log"
    fi
done
[ "$torch" = 1 ] || echo "pytorch: skipped (no $ref or no python3-torch)"
# median of field F (key=value) over the lines tagged T
med() {
    grep "^$1 " "$log" | tr ' ' '\n' | sed -n "s/^$2=//p" | sort -g |
        awk '{v[NR] = $1} END {if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print "-"}'
}
echo "medians over $rounds rounds: emo train $(med fp32 train_img_per_s) infer fp32 $(med fp32 infer_img_per_s)" \
     "infer bf16 $(med bf16 infer_img_per_s) | pytorch train $(med torch train_img_per_s) infer $(med torch infer_img_per_s)"
