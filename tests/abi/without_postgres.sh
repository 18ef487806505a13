#!/bin/sh
# tests/abi/without_postgres.sh LIBESTORIA_SO LIBESTORIA_A NO_POSTGRES_TEST:
# a build with -DESTORIA_WITH_POSTGRES=OFF (doc/architecture.md "Building
# without PostgreSQL") neither needs nor carries libpq, and refuses
# postgresql:// naming the option (no_postgres_test).
set -u
status=0
fail() { echo "FAIL: $*" >&2; status=1; }
so=$1
archive=$2
program=$3

needed=$(readelf -d "$so" | grep NEEDED) || fail "readelf -d $so failed"
printf '%s\n' "$needed" | grep -qi 'libpq' && fail "$so needs libpq:
$needed"
printf '%s\n' "$needed" | grep -q 'libabsl_status' || fail "readelf -d $so shows no NEEDED entries we expect:
$needed"
pq=$(nm -u "$archive" 2>/dev/null | awk '{ print $NF }' | grep '^PQ' | sort -u)
[ -z "$pq" ] || fail "$archive refers to libpq: $pq"
"$program" || fail "$program failed"
[ $status -eq 0 ] && echo "without PostgreSQL: $(basename "$so") needs no libpq, $(basename "$archive") refers to none"
exit $status
