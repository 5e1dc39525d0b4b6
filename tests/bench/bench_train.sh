#!/bin/sh
# bench_train.sh: the trainer end to end (shard reading, shuffling,
# augmentation, batch assembly on the loader thread, forward, backward,
# Adam) on FER2013 Training, next to the engine alone (emotrain --bench) in
# the same run, so the ratio shows what the data path costs; and --eval's
# inference rate over PublicTest.
#
# Workload: batch 64, 2 threads, --augment flip,shift=0.1,rotate=10,zoom=0.1,
# 60 batches (--stop-after), timed from process start (includes opening the
# datasets and the first batch). Prints; never asserts.
set -u
data="${EMO_BENCH_DATA:-}/fer2013"
if [ ! -d "$data/train" ] || [ ! -d "$data/val" ]; then
    echo "bench_train: $data/{train,val} missing (no ../shared/data?); skipped"
    exit 0
fi
bin="${EMO_BIN:?EMO_BIN not set}"
shards="${EMO_BENCH_DATA}/train-shards"
for s in train val; do
    [ -f "$shards/$s/manifest.json" ] || "$bin/emoshard" import "$data/$s" -o "$shards/$s" --quiet ||
        { echo "bench_train: emoshard import $s failed"; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
batches=60
engine=$("$bin/emotrain" --bench --batch 64 --threads 2 --quiet | sed -n 's/.*train_img_per_s=\([0-9.]*\).*/\1/p')
t0=$(date +%s.%N)
"$bin/emotrain" --shards "$shards/train" -o "$tmp/run" --batch 64 --threads 2 --quiet \
    --augment flip,shift=0.1,rotate=10,zoom=0.1 --stop-after $batches >/dev/null 2>&1
t1=$(date +%s.%N)
e0=$(date +%s.%N)
"$bin/emotrain" --eval --model "$tmp/run/checkpoint.emomodel" --shards "$shards/val" --threads 2 --quiet >/dev/null 2>&1
e1=$(date +%s.%N)
awk -v n=$batches -v t0="$t0" -v t1="$t1" -v e0="$e0" -v e1="$e1" -v eng="${engine:-0}" 'BEGIN {
    r = n * 64 / (t1 - t0); ev = 3589 / (e1 - e0);
    printf "trainer_img_per_s=%.1f engine_train_img_per_s=%.1f data_path_overhead=%.0f%% eval_img_per_s=%.1f\n",
           r, eng, eng > 0 ? 100 * (1 - r / eng) : 0, ev
}'
