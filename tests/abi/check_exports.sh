#!/bin/sh
# tests/abi/check_exports.sh LIBRARY HEADER: checks what libestoria.so exports.
# - every defined dynamic symbol (but the version nodes themselves) starts
#   with est_;
# - a function the header declares in its stable part carries the ESTORIA_1
#   version, one it declares in its experimental section (#ifdef
#   EST_EXPERIMENTAL) carries ESTORIA_EXPERIMENTAL, and nothing else is
#   exported;
# - the SONAME is libestoria.so.1;
# - every EST_API function the header declares is exported.
set -u
lib=$1
header=$2
status=0
fail() { echo "FAIL: $*" >&2; status=1; }

[ -f "$lib" ] || { echo "FAIL: no library at $lib" >&2; exit 1; }

# With binutils >= 2.35 nm -D prints name@@VERSION; the version nodes are
# absolute symbols named after the nodes.
defined=$(nm -D --defined-only "$lib" | awk '{ print $NF }' | grep -v '^ESTORIA_1$' | grep -v '^ESTORIA_EXPERIMENTAL$') ||
  fail "nm failed"
names=$(printf '%s\n' "$defined" | sed 's/@.*$//' | grep -v '^$')
[ -n "$names" ] || fail "no symbols exported"
bad=$(printf '%s\n' "$names" | grep -v '^est_' || true)
[ -z "$bad" ] || fail "symbols without the est_ prefix are exported:
$bad"
objdump -T "$lib" | grep -q 'ESTORIA_1' || fail "objdump -T shows no ESTORIA_1 version"

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$soname" = "libestoria.so.1" ] || fail "SONAME is '$soname', not libestoria.so.1"

# Declarations start a line with EST_API; the name is the word before '('.
# The experimental section runs from "#ifdef EST_EXPERIMENTAL" to its #endif.
declared() {  # declared stable|experimental
  awk -v want="$1" '
    /^#ifdef EST_EXPERIMENTAL/ { inside = 1; next }
    /^#endif \/\* EST_EXPERIMENTAL \*\// { inside = 0; next }
    /^EST_API / { if ((want == "experimental") == (inside == 1)) print }
  ' "$header" | sed 's/(.*//' | awk '{ print $NF }' | tr -d '*' | sort -u
}
stable=$(declared stable)
experimental=$(declared experimental)
[ -n "$stable" ] || fail "found no EST_API declarations in $header"
for fn in $stable; do
  printf '%s\n' "$defined" | grep -qx "$fn@@ESTORIA_1" || fail "not exported under ESTORIA_1: $fn"
done
for fn in $experimental; do
  printf '%s\n' "$defined" | grep -qx "$fn@@ESTORIA_EXPERIMENTAL" || fail "not exported under ESTORIA_EXPERIMENTAL: $fn"
done
extra=$(printf '%s\n' "$names" | while read -r n; do
  printf '%s\n%s\n' "$stable" "$experimental" | grep -qx "$n" || echo "$n"
done)
[ -z "$extra" ] || fail "exported but declared nowhere in the header:
$extra"

[ $status -eq 0 ] && echo "exported symbols: $(printf '%s\n' "$stable" | wc -l) under ESTORIA_1, $(printf '%s\n' "$experimental" | grep -c .) under ESTORIA_EXPERIMENTAL, SONAME libestoria.so.1"
exit $status
