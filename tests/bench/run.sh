#!/bin/sh
# make bench: runs every tests/bench/bench_*.sh stage script in name order.
# Each prints its own throughput lines. Benchmarks print; they never assert.
# FER2013 is unpacked once into $EMO_BENCH_DATA (default build/bench-data)
# from ../shared/data; a stage whose data is missing says so and is skipped.
set -u
build=${1:-build}
export EMO_BUILD="$build"
export EMO_BIN="$PWD/$build/bin"
export EMO_SHARED_DATA="${EMO_SHARED_DATA:-$PWD/../shared/data}"
export EMO_BENCH_DATA="${EMO_BENCH_DATA:-$PWD/$build/bench-data}"
if [ -f "$EMO_SHARED_DATA/fer2013-trainval.tar.zst" ] && [ ! -d "$EMO_BENCH_DATA/fer2013/train" ]; then
    mkdir -p "$EMO_BENCH_DATA/fer2013" &&
    tar --zstd -xf "$EMO_SHARED_DATA/fer2013-trainval.tar.zst" -C "$EMO_BENCH_DATA/fer2013"
fi
for s in tests/bench/bench_*.sh; do
    [ -f "$s" ] || continue
    echo "== $(basename "$s" .sh)"
    sh "$s" || echo "($(basename "$s") failed)"
done
