#!/bin/sh
# Alignment quality on ../shared/data/jaffe-dev: detects faces
# (frontalface_default, 1.1, 5, min 30: one face per JAFFE photo), aligns
# each on its eyes (haarcascade_eye, eyeglasses fallback) to 48x48, then
# re-detects the eyes on every aligned crop (upscaled) and reports the
# distribution of the residual eye-line angle, next to the eye angle in the
# source photos. Writes the crops and a contact sheet.
# Usage: sh tests/compare/align_quality.sh [BUILD] [OUTDIR]
#   (defaults: build, BUILD/align-quality; the sheet is OUTDIR/sheet.png)
set -u
build=${1:-build}
out=${2:-$build/align-quality}
bin="$build/bin/emodetect"
data="${EMO_SHARED_DATA:-$(dirname "$0")/../../../shared/data}"
jaffe="$data/jaffe-dev"
for need in "$bin" "$jaffe" /usr/share/opencv4/haarcascades/haarcascade_eye.xml; do
    [ -e "$need" ] || { echo "align-quality: skipped ($need missing)"; exit 0; }
done
mkdir -p "$out" || exit 1
rm -f "$out"/crops/*.png
det="--scale-factor 1.1 --min-neighbors 5 --min-size 30"
# pass 1: the source eye angles; pass 2: crops, sheet and residual angles
"$bin" --quiet $det --align "$jaffe" --out "$out/source.tsv" || exit 1
"$bin" --quiet $det --residual --align-out "$out/crops" --sheet "$out/sheet.png" "$jaffe" \
    --out "$out/residual.tsv" || exit 1
# |angle| statistics of column 10 ('-' = no eye pair)
stats() {
    awk -F'\t' -v label="$2" '
        { n++ }
        $10 != "-" { a = $10 < 0 ? -$10 : $10; v[m++] = a; s += a; if (a < 1) lt1++; if (a < 2) lt2++; if (a < 5) lt5++ }
        END {
            if (m == 0) { printf "%-26s faces=%d with_eye_pair=0\n", label, n; exit }
            # insertion sort: at most a few hundred values
            for (i = 1; i < m; i++) { x = v[i]; for (j = i - 1; j >= 0 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
            printf "%-26s faces=%d with_eye_pair=%d |angle| mean=%.2f median=%.2f p90=%.2f p95=%.2f max=%.2f  <1deg=%.0f%% <2deg=%.0f%% <5deg=%.0f%%\n",
                label, n, m, s / m, v[int(m / 2)], v[int(m * 0.9)], v[int(m * 0.95)], v[m - 1],
                100 * lt1 / m, 100 * lt2 / m, 100 * lt5 / m
        }' "$1"
}
stats "$out/source.tsv" "source photos (eye line)"
stats "$out/residual.tsv" "aligned crops (residual)"
awk -F'\t' '$6 == "-" { f++ } END { printf "fallback crops (no eye pair in the photo): %d of %d\n", f, NR }' "$out/source.tsv"
echo "crops: $out/crops  contact sheet: $out/sheet.png"
