#!/bin/sh
# bench_augment.sh: emoaugment throughput on FER2013 Training, shard to
# shard, next to the OpenCV reference loop measured in the same run, plus
# the per-transform cost (tests/bench/bench_augment.c).
#
# Workload: the default recipe (flip 0.5, rotate 10, shift 0.1, zoom 0.1,
# brightness 0.2). Figures are medians of 3 runs, each reference run right
# before the emoaugment run it is compared with, so the ratio is taken under
# the same machine load:
#   per thread:  --copies 2 -j 1 records/s  vs  opencv_augment.py images/s
#   10x target:  --copies 10 -j 2 (287,090 records) wall seconds (goal < 15)
#   I/O share:   --copies 2 -j 1 with every transform off
# Prints; never asserts. Needs $EMO_BENCH_DATA/fer2013/train.
set -u
train="${EMO_BENCH_DATA:-}/fer2013/train"
if [ ! -d "$train" ]; then
    echo "bench_augment: $train missing (no ../shared/data?); skipped"
    exit 0
fi
bin="${EMO_BIN:?EMO_BIN not set}"
bench="$(dirname "$bin")/bench/bench_augment"
ref="$(dirname "${EMO_SHARED_DATA:-../shared/data}")/reference/opencv_augment.py"
py=/usr/bin/python3
shards="${EMO_BENCH_DATA}/augment-in"
out="${EMO_BENCH_DATA}/augment-out"
[ -f "$shards/manifest.json" ] || "$bin/emoshard" import "$train" -o "$shards" --quiet ||
    { echo "bench_augment: import failed"; exit 1; }
have_ref=0
if [ -f "$ref" ] && "$py" -c 'import cv2' 2>/dev/null; then have_ref=1; fi

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# records/s from emoaugment's summary line ("..., 12.3 s, 45678 records/s, ...")
rate_of() { sed -n 's/.* \([0-9.]*\) s, \([0-9]*\) records\/s.*/\2/p'; }
secs_of() { sed -n 's/.* \([0-9.]*\) s, \([0-9]*\) records\/s.*/\1/p'; }

tmp=$(mktemp -d)
for i in 1 2 3; do
    if [ $have_ref = 1 ]; then
        "$py" "$ref" 20000 | sed -n 's/.*images_per_s=\([0-9]*\).*/\1/p' >> "$tmp/ref"
    fi
    "$bin/emoaugment" -s "$shards" -o "$out" --copies 2 -j 1 --seed $i > "$tmp/j1.txt" || echo "bench_augment: run failed"
    rate_of < "$tmp/j1.txt" >> "$tmp/j1"
    # The same records with every transform off: the read + hash + write cost
    # alone, to show how much of the end-to-end time is the shard I/O.
    "$bin/emoaugment" -s "$shards" -o "$out" --copies 2 -j 1 --flip 0 --rotate 0 --shift 0 --zoom 0 \
        --brightness 0 > "$tmp/io.txt" || echo "bench_augment: run failed"
    rate_of < "$tmp/io.txt" >> "$tmp/io"
    if [ $have_ref = 1 ]; then
        "$py" "$ref" 20000 | sed -n 's/.*images_per_s=\([0-9]*\).*/\1/p' >> "$tmp/ref2"
    fi
    "$bin/emoaugment" -s "$shards" -o "$out" --copies 10 -j 2 --seed $i > "$tmp/j2.txt" || echo "bench_augment: run failed"
    rate_of < "$tmp/j2.txt" >> "$tmp/j2"
    secs_of < "$tmp/j2.txt" >> "$tmp/j2s"
    [ -s "$tmp/ref" ] && paste -d' ' "$tmp/ref" "$tmp/j1" | tail -1 |
        awk '{ printf "  run: opencv %s img/s | emoaugment -j1 %s rec/s (%.2fx)\n", $1, $2, $2 / $1 }'
done
j1=$(median < "$tmp/j1"); j2=$(median < "$tmp/j2"); j2s=$(median < "$tmp/j2s"); io=$(median < "$tmp/io")
echo "augment_end_to_end_j1_records_per_s $j1 (FER2013 Training x2 copies, shard to shard, one thread, median of 3)"
echo "augment_io_only_j1_records_per_s $io (same, every transform off: read + hash + write alone)"
echo "augment_end_to_end_j2_records_per_s $j2 (x10 copies = $(($(sed -n 's/.*, \([0-9]*\) out.*/\1/p' "$tmp/j2.txt"))) records, two threads)"
echo "augment_10x_seconds_j2 $j2s (goal < 15)"
if [ -s "$tmp/ref" ]; then
    r=$(cat "$tmp/ref" "$tmp/ref2" | median)
    echo "opencv_augment_py_images_per_s $r (one thread, no file I/O, median of 6)"
    awk -v a="$j1" -v b="$r" 'BEGIN { printf "augment_per_thread_ratio %.2f (goal >= 2)\n", a / b }'
else
    echo "opencv reference not available (needs /usr/bin/python3 with cv2 and $ref)"
fi
rm -rf "$tmp" "$out"
[ -x "$bench" ] && "$bench" 20000
exit 0
