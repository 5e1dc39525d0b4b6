#!/bin/sh
# measure_rss.sh: peak RSS and wall time of emoingest on FER2013 Training and
# on a 10x replicated tree of it (symlinks, so 10x the files and the walk,
# no extra disk). A measurement, not a test: it prints one line per run and
# fails only if a run fails. Numbers are recorded in tests/RELIABILITY.md.
#
#   sh tests/reliability/measure_rss.sh [BUILD] [FER_TRAIN_DIR] [THREADS]
#
# FER_TRAIN_DIR defaults to /work/data/fer2013/train (the unpacked
# ../shared/data/fer2013-trainval.tar.zst), THREADS to all cores.
set -eu
build=${1:-build}
fer=${2:-/work/data/fer2013/train}
threads=${3:-$(nproc)}
bin="$PWD/$build/bin/emoingest"
[ -x "$bin" ] || { echo "measure_rss: $bin not built" >&2; exit 1; }
[ -d "$fer" ] || { echo "measure_rss: no FER2013 tree at $fer" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

peak() { # label, then the command; prints label, files, seconds, peak RSS
    label=$1; shift
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v "$@" >"$tmp/out.log" 2>"$tmp/time.log" || { cat "$tmp/time.log" >&2; exit 1; }
        rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time.log")
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/time.log")
    else
        start=$(date +%s); "$@" >"$tmp/out.log" 2>&1; wall=$(( $(date +%s) - start ))s; rss="?"
    fi
    echo "$label: wall $wall, peak RSS ${rss} KB"
}

n=$(find "$fer" -type f | wc -l)
echo "FER2013 train: $n files, threads $threads"
peak "fer2013 train (1x, $n files)" "$bin" "$fer" -o "$tmp/out1" --threads "$threads" --quiet --no-cache
mkdir -p "$tmp/tree10"
i=0
while [ $i -lt 10 ]; do
    cp -rs "$(cd "$fer" && pwd)" "$tmp/tree10/copy$i"
    i=$((i + 1))
done
n10=$(find "$tmp/tree10" -type l | wc -l)
peak "fer2013 train 10x ($n10 symlinks, dedup exact)" "$bin" "$tmp/tree10" -o "$tmp/out10" --threads "$threads" --quiet --no-cache
peak "fer2013 train 10x ($n10 symlinks, --dedup off)" "$bin" "$tmp/tree10" -o "$tmp/out10off" --threads "$threads" --quiet --no-cache --dedup off
