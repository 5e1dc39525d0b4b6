#!/bin/sh
# bench_detect.sh: face detection speed on ../shared/data/jaffe-dev (149
# photos, 256x256) next to OpenCV's detectMultiScale (opencv_detect.py),
# same cascade and parameters (frontalface_default, scaleFactor 1.1,
# minNeighbors 3, minSize 30), 2 threads, images decoded before timing on
# both sides. Each round runs OpenCV and then our variants back to back, so
# ratios are taken under the same machine load; figures are medians of 5
# rounds:
#   emodetect --parallel images  whole images per thread (the default)
#   emodetect --parallel levels  one image at a time, split by pyramid level
#                                (how OpenCV splits an image)
#   emodetect --threads 1        one thread
# Prints; never asserts.
set -u
bin="${EMO_BIN:?EMO_BIN not set}/emodetect"
data="${EMO_SHARED_DATA:-../shared/data}"
jaffe="$data/jaffe-dev"
ref="$(dirname "$data")/reference/opencv_detect.py"
py=/usr/bin/python3
cascade=/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml
if [ ! -d "$jaffe" ] || [ ! -f "$cascade" ] || [ ! -x "$bin" ]; then
    echo "bench_detect: jaffe-dev, the cascade or emodetect missing; skipped"
    exit 0
fi
have_ref=0
if [ -f "$ref" ] && "$py" -c 'import cv2' 2>/dev/null; then have_ref=1; fi
rounds=${BENCH_ROUNDS:-5}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/emo-bench-detect.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
rate() { sed -n 's/.*images_per_s=\([0-9.]*\).*/\1/p'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'; }
ours() { "$bin" --cascade "$cascade" --scale-factor 1.1 --min-neighbors 3 --min-size 30 "$@" "$jaffe" 2>&1 >/dev/null | rate; }
i=0
while [ $i -lt "$rounds" ]; do
    i=$((i + 1))
    cv=0
    if [ $have_ref = 1 ]; then
        cv=$("$py" "$ref" "$jaffe" --cascade "$cascade" --scale 1.1 --neighbors 3 --min 30 --threads 2 | rate)
        echo "$cv" >> "$tmp/cv"
    fi
    a=$(ours --threads 2 --parallel images); echo "$a" >> "$tmp/img"
    b=$(ours --threads 2 --parallel levels); echo "$b" >> "$tmp/lev"
    c=$(ours --threads 1); echo "$c" >> "$tmp/one"
    if [ $have_ref = 1 ]; then
        awk -v a="$a" -v b="$b" -v c="$c" -v r="$cv" 'BEGIN { print a / r, b / r, c / r }' >> "$tmp/ratio"
    fi
done
printf 'detect jaffe-dev (149 images, 1.1/3/min 30), images/s, median of %d rounds:\n' "$rounds"
[ $have_ref = 1 ] && printf '  opencv_detect.py (2 threads)         %s\n' "$(median < "$tmp/cv")"
printf '  emodetect 2 threads, images         %s\n' "$(median < "$tmp/img")"
printf '  emodetect 2 threads, levels         %s\n' "$(median < "$tmp/lev")"
printf '  emodetect 1 thread                  %s\n' "$(median < "$tmp/one")"
if [ $have_ref = 1 ]; then
    printf '  ratio vs OpenCV (median per round): images %s  levels %s  1 thread %s\n' \
        "$(cut -d' ' -f1 "$tmp/ratio" | median)" "$(cut -d' ' -f2 "$tmp/ratio" | median)" \
        "$(cut -d' ' -f3 "$tmp/ratio" | median)"
fi
