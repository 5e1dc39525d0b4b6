#!/bin/sh
# Regenerates the fuzz seed corpora that are made by programs (run from the
# repository root after `make`; the text seeds -- CSV, HTML, robots, URL
# lists, trimmed cascades -- are written by hand and kept as they are):
#   sh tests/fuzz/corpus/tools/gen_seeds.sh [BUILD]
# Needs the FER2013 folder (/work/data/fer2013 or $FER_DIR) and JAFFE
# (../shared/data/jaffe-dev or $JAFFE_DIR) for the real-image seeds.
set -eu
build=${1:-build}
out=tests/fuzz/corpus
fer=${FER_DIR:-/work/data/fer2013}
jaffe=${JAFFE_DIR:-../shared/data/jaffe-dev}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pkgs="libpng libjpeg libzstd jansson libxxhash"
cc -std=c11 -D_GNU_SOURCE -Iformats $(pkg-config --cflags $pkgs) tests/fuzz/corpus/tools/gen_seeds.c \
    "$build/lib/libemo.a" $(pkg-config --libs $pkgs) -lpthread -lm -o "$tmp/gen_seeds"
faces="$fer/train/happy/Training_10019449.jpg $fer/train/angry/$(ls "$fer/train/angry" | head -1) $fer/train/surprise/$(ls "$fer/train/surprise" | head -1)"
GEN_TMP="$tmp/work" "$tmp/gen_seeds" "$out" $faces
python3 tests/fuzz/corpus/tools/gen_png.py "$out/fuzz_image"
i=0
for f in $faces; do i=$((i + 1)); cp "$f" "$out/fuzz_image/fer-$i.jpg"; done
cp "$jaffe/angry/$(ls "$jaffe/angry" | head -1)" "$out/fuzz_image/jaffe.png"
# The manifest the fuzz_manifest fixture writes, so its seed matches its shards.
mkdir -p "$out/fuzz_manifest"
: >"$tmp/empty"
FUZZ_MANIFEST_DUMP="$out/fuzz_manifest/fixture.json" "$build/replay/fuzz_manifest" "$tmp/empty" >/dev/null
