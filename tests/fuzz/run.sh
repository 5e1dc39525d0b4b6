#!/bin/sh
# make fuzz: runs each libFuzzer target for FUZZ_SECONDS on its corpus.
# New interesting inputs go to a scratch corpus (build-fuzz/corpus/<target>),
# not into the committed seeds; crashes are written to build-fuzz/crashes/ and
# fail the run: copy each into tests/fuzz/regressions/<target>/ once fixed.
set -u
build=$1; secs=$2
fail=0
for f in "$build"/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    work="$build/corpus/$name"; crashes="$build/crashes/$name"
    mkdir -p "$work" "$crashes"
    seeds="tests/fuzz/corpus/$name"; [ -d "$seeds" ] || seeds=""
    echo "== $name (${secs}s)"
    if ! "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$crashes/" "$work" $seeds 2>"$build/$name.log"; then
        fail=1
        tail -20 "$build/$name.log"
    fi
    grep -E 'stat::number_of_executed_units|stat::peak_rss' "$build/$name.log" | tr '\n' ' '; echo
done
exit $fail
