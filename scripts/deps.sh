#!/bin/sh
# Installs the Debian packages emo needs, or says exactly which are missing.
#   scripts/deps.sh           install what is missing (as root), else print the command
#   scripts/deps.sh --check   only report; exit 1 if something is missing
#   scripts/deps.sh --extra   also the reference tools (PyTorch, OpenCV) used by
#                             make bench and make compare-opencv
#   scripts/deps.sh --fuzz    also clang and its libFuzzer runtime (make fuzz)
set -u
BUILD_PKGS="gcc make pkg-config libpng-dev libjpeg62-turbo-dev libzstd-dev check libsubunit-dev \
libjansson-dev libxxhash-dev libxml2-dev libcurl4-openssl-dev libopenblas-openmp-dev opencv-data \
zstd python3 gnuplot-nox"
FUZZ_PKGS="clang libclang-rt-14-dev"
EXTRA_PKGS="python3-torch python3-opencv libturbojpeg0-dev clang libclang-rt-14-dev valgrind chromium"

mode=${1:-install}
want=$BUILD_PKGS
[ "$mode" = "--extra" ] && want="$BUILD_PKGS $EXTRA_PKGS"
[ "$mode" = "--fuzz" ] && want="$BUILD_PKGS $FUZZ_PKGS"

missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$mode" = "--check" ]; then
    echo "emo: missing Debian packages:$missing" >&2
    echo "emo: run 'make deps' (as root) or: sudo apt-get install -y$missing" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then
    echo "emo: installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null || {
        echo "emo: apt-get install failed for:$missing" >&2; exit 1; }
else
    echo "emo: missing packages; run: sudo apt-get install -y$missing" >&2
    exit 1
fi
