#!/bin/sh
# bench_shards.sh: FER2013 Training into shards with `emoshard import`
# (timed), then sizes (shards vs the JPEG folder vs PNG level 9) and the
# single-thread streaming rate next to libjpeg-turbo decoding the same JPEGs
# from memory, in one run (tests/bench/bench_shard_read.c). Prints; never
# asserts. Needs $EMO_BENCH_DATA/fer2013/train (tests/bench/run.sh unpacks it).
set -u
train="${EMO_BENCH_DATA:-}/fer2013/train"
if [ ! -d "$train" ]; then
    echo "bench_shards: $train missing (no ../shared/data?); skipped"
    exit 0
fi
bin="${EMO_BIN:?EMO_BIN not set}"
bench="$(dirname "$bin")/bench/bench_shard_read"
out="${EMO_BENCH_DATA}/shards-train"
t0=$(date +%s.%N)
"$bin/emoshard" import "$train" -o "$out" --quiet || { echo "bench_shards: import failed"; exit 1; }
t1=$(date +%s.%N)
n=$(find "$train" -name '*.jpg' | wc -l)
awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "import_seconds %.2f (%d faces, %.0f faces/s, default threads)\n", b - a, n, n / (b - a) }'
"$bin/emoshard" verify "$out" --quiet >/dev/null || echo "bench_shards: verify FAILED"
"$bench" "$train" "$out" 3
