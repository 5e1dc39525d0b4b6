#!/bin/sh
# Runs each Check suite in its own process and fails if any fails.
# VALGRIND=1 runs them under valgrind memcheck (errors and definite leaks fail).
# Suites that test programs find them through EMO_BIN.
set -u
build=$1; shift
export EMO_BIN="$PWD/$build/bin"
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-600}
fail=0; n=0; nfail=0
for t in "$@"; do
    n=$((n + 1))
    echo "== $(basename "$t")"
    if [ "${VALGRIND:-0}" = 1 ]; then
        CK_FORK=no valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$t" || { fail=1; nfail=$((nfail + 1)); }
    else
        "$t" || { fail=1; nfail=$((nfail + 1)); }
    fi
done
echo "suites: $((n - nfail)) passed, $nfail failed"
exit $fail
