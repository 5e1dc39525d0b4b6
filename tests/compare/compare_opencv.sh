#!/bin/sh
# make compare-opencv: our detector's boxes against OpenCV's own
# detectMultiScale (Debian python3-opencv, via ../shared/reference/opencv_detect.py)
# on ../shared/data/jaffe-dev, for several cascades and parameter sets.
# Prints one line per configuration and exits non-zero if any configuration
# is under the bar: >= 98% of OpenCV's boxes matched at IoU >= 0.9 and no
# extra boxes (tests/compare/match_boxes.py).
# Usage: sh tests/compare/compare_opencv.sh [BUILD] (default build)
set -u
build=${1:-build}
bin="$build/bin/emodetect"
data="${EMO_SHARED_DATA:-$(dirname "$0")/../../../shared/data}"
jaffe="$data/jaffe-dev"
ref="${EMO_SHARED_REFERENCE:-$data/../reference}/opencv_detect.py"
py=/usr/bin/python3
hc=/usr/share/opencv4/haarcascades
lc=/usr/share/opencv4/lbpcascades
here=$(dirname "$0")
for need in "$bin" "$jaffe" "$ref" "$hc"; do
    [ -e "$need" ] || { echo "compare-opencv: skipped ($need missing)"; exit 0; }
done
$py -c 'import cv2' 2>/dev/null || { echo "compare-opencv: skipped (python3-opencv missing)"; exit 0; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/emo-compare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
# Noise images of random sizes for the accept-all cascade (every visited
# window is a detection there): they check the scan itself, window by window.
mkdir -p "$tmp/noise"
$py - "$tmp/noise" <<'PY'
import sys, cv2, numpy as np
rng = np.random.default_rng(5)
for i in range(24):
    h, w = (int(v) for v in rng.integers(20, 300, 2))
    cv2.imwrite(f"{sys.argv[1]}/noise{i:02d}.png", rng.integers(0, 256, (h, w), dtype=np.uint8))
PY
# cascade scale neighbors min [dir]
while read -r cascade scale neigh min dir; do
    dir=${dir:-$jaffe}
    name="$(basename "$cascade" .xml) scale=$scale neighbors=$neigh min=$min"
    [ "$dir" = "$jaffe" ] || name="$name (noise)"
    $py "$ref" "$dir" --out "$tmp/cv.tsv" --cascade "$cascade" --scale "$scale" \
        --neighbors "$neigh" --min "$min" --threads 2 >/dev/null || { echo "$name: opencv_detect.py failed"; fail=1; continue; }
    "$bin" --quiet --cascade "$cascade" --scale-factor "$scale" --min-neighbors "$neigh" \
        --min-size "$min" --threads 2 "$dir" --out "$tmp/ours.tsv" || { echo "$name: emodetect failed"; fail=1; continue; }
    line=$($py "$here/match_boxes.py" "$tmp/cv.tsv" "$tmp/ours.tsv" 2>"$tmp/diff.txt")
    st=$?
    printf '%-70s %s\n' "$name" "$line"
    [ $st -eq 0 ] || { fail=1; cat "$tmp/diff.txt"; }
done <<CONFIGS
$hc/haarcascade_frontalface_default.xml 1.1 3 30
$hc/haarcascade_frontalface_default.xml 1.05 5 0
$hc/haarcascade_frontalface_default.xml 1.3 1 60
$hc/haarcascade_frontalface_default.xml 1.2 0 40
$hc/haarcascade_frontalface_alt2.xml 1.1 3 30
$hc/haarcascade_frontalface_alt2.xml 1.05 2 0
$hc/haarcascade_frontalface_alt.xml 1.1 3 30
$hc/haarcascade_frontalface_alt_tree.xml 1.1 3 30
$hc/haarcascade_profileface.xml 1.1 3 30
$lc/lbpcascade_frontalface.xml 1.1 3 30
$lc/lbpcascade_frontalface.xml 1.05 1 0
$lc/lbpcascade_frontalface_improved.xml 1.1 3 30
$hc/haarcascade_eye.xml 1.1 3 0
$hc/haarcascade_eye.xml 1.05 0 20
$hc/haarcascade_eye.xml 1.2 1 0
$hc/haarcascade_eye_tree_eyeglasses.xml 1.1 3 0
$hc/haarcascade_smile.xml 1.2 3 0
$hc/haarcascade_smile.xml 1.2 0 0
$here/accept_all.xml 1.1 0 0 $tmp/noise
$here/accept_all.xml 1.3 0 13 $tmp/noise
$here/accept_all.xml 1.25 2 60 $tmp/noise
CONFIGS
[ $fail -eq 0 ] && echo "compare-opencv: all configurations at or above the bar" || echo "compare-opencv: FAILED"
exit $fail
