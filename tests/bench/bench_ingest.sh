#!/bin/sh
# bench_ingest.sh: emoingest throughput on its two paths, each next to the
# plain decode rate of the same files (tests/bench/bench_ingest_decode.c:
# the same walk, read and PNG/JPEG decode, nothing else), measured in the
# same run:
#   pass-through   FER2013 Training (28,709 48x48 JPEGs): decode, hash,
#                  dedup, split, write shards
#   detect+align   jaffe-dev (149 256x256 PNGs): decode, face detection
#                  (frontalface_default, 1.1 / 5 / 30), eye alignment, crop
# Figures are medians of 3 rounds; in each round the decode run comes right
# before the ingest run it is compared with, so the ratio is taken under the
# same machine load. Prints; never asserts.
set -u
bin="${EMO_BIN:?EMO_BIN not set}"
decode="$(dirname "$bin")/bench/bench_ingest_decode"
threads="${EMO_BENCH_THREADS:-2}"
train="${EMO_BENCH_DATA:-}/fer2013/train"
jaffe="${EMO_SHARED_DATA:-../shared/data}/jaffe-dev"
[ -x "$decode" ] || { echo "bench_ingest: $decode missing (make all first)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }

# bench NAME DIR: three rounds of decode then ingest; one summary line.
bench() {
    name=$1 dir=$2
    n=$(find "$dir" -type f | wc -l)
    : > "$tmp/dec" && : > "$tmp/ing"
    for round in 1 2 3; do
        "$decode" --threads "$threads" "$dir" | sed -n 's/.*images_per_s=\([0-9]*\).*/\1/p' >> "$tmp/dec"
        t0=$(now)
        "$bin/emoingest" "$dir" -o "$tmp/out" --threads "$threads" --quiet --split train ||
            { echo "bench_ingest: emoingest failed on $dir"; return; }
        t1=$(now)
        echo "$n $t0 $t1" | awk '{ printf "%.0f\n", $1 / ($3 - $2) }' >> "$tmp/ing"
    done
    d=$(median < "$tmp/dec")
    i=$(median < "$tmp/ing")
    echo "$name $n $i $d $threads" | awk '{ printf "ingest %-28s %6d images: %7d images/s  (plain decode %7d images/s, ratio %.2f; %d threads)\n", $1, $2, $3, $4, $3 / $4, $5 }'
}

if [ -d "$train" ]; then bench "fer2013-train(pass-through)" "$train"
else echo "bench_ingest: $train missing; FER2013 pass-through skipped"; fi
if [ -d "$jaffe" ]; then bench "jaffe-dev(detect+align)" "$jaffe"
else echo "bench_ingest: $jaffe missing; detect+align skipped"; fi
