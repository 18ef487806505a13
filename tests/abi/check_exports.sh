#!/bin/sh
# tests/abi/check_exports.sh LIBRARY HEADER: checks what libestoria.so exports.
# - every defined dynamic symbol (but the version node itself) starts with est_;
# - each carries the ESTORIA_1 version, or ESTORIA_EXPERIMENTAL for the calls
#   of the header's experimental section (after #ifdef EST_EXPERIMENTAL);
# - the SONAME is libestoria.so.1;
# - every EST_API function the header declares is exported.
set -u
lib=$1
header=$2
status=0
fail() { echo "FAIL: $*" >&2; status=1; }

[ -f "$lib" ] || { echo "FAIL: no library at $lib" >&2; exit 1; }

defined=$(nm -D --defined-only "$lib" | awk '{ print $NF }') || fail "nm failed"
# The version node is an absolute symbol named after the node.
names=$(printf '%s\n' "$defined" | grep -v '^ESTORIA_1$' | grep -v '^ESTORIA_EXPERIMENTAL$' | sed 's/@.*$//' | grep -v '^$')
[ -n "$names" ] || fail "no symbols exported"
bad=$(printf '%s\n' "$names" | grep -v '^est_' || true)
[ -z "$bad" ] || fail "symbols without the est_ prefix are exported:
$bad"

# Versions: with binutils >= 2.35 nm -D prints name@@VERSION.
experimental=$(sed -n '/^#ifdef EST_EXPERIMENTAL/,/^#endif \/\* EST_EXPERIMENTAL/p' "$header" | grep '^EST_API ' |
  sed 's/(.*//' | awk '{ print $NF }' | tr -d '*' | sort -u)
unversioned=$(printf '%s\n' "$defined" | grep -v '^ESTORIA_1$' | grep -v '^ESTORIA_EXPERIMENTAL$' |
  grep -v '@@ESTORIA_1$' | grep -v '@@ESTORIA_EXPERIMENTAL$' || true)
[ -z "$unversioned" ] || fail "symbols under no version node:
$unversioned"
for fn in $experimental; do
  printf '%s\n' "$defined" | grep -qx "$fn@@ESTORIA_EXPERIMENTAL" || fail "experimental $fn is not under ESTORIA_EXPERIMENTAL"
done
stable_exp=$(printf '%s\n' "$defined" | grep '@@ESTORIA_EXPERIMENTAL$' | sed 's/@.*$//' | while read -r fn; do
  printf '%s\n' "$experimental" | grep -qx "$fn" || echo "$fn"; done)
[ -z "$stable_exp" ] || fail "under ESTORIA_EXPERIMENTAL but not in the experimental section:
$stable_exp"
objdump -T "$lib" | grep -q 'ESTORIA_1' || fail "objdump -T shows no ESTORIA_1 version"

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$soname" = "libestoria.so.1" ] || fail "SONAME is '$soname', not libestoria.so.1"

# Declarations start a line with EST_API; the name is the word before '('.
declared=$(grep '^EST_API ' "$header" | sed 's/(.*//' | awk '{ print $NF }' | tr -d '*' | sort -u)
[ -n "$declared" ] || fail "found no EST_API declarations in $header"
for fn in $declared; do
  printf '%s\n' "$names" | grep -qx "$fn" || fail "declared in the header but not exported: $fn"
done

[ $status -eq 0 ] && echo "exported symbols: $(printf '%s\n' "$names" | wc -l) est_* symbols under ESTORIA_1, SONAME libestoria.so.1"
exit $status
