#!/bin/sh
# tests/plugins/check_plugin_symbols.sh LIBESTORIA_SO PLUGIN...: what a
# plugin that links libestoria.a with its own version script exposes, and
# how the shared library's symbols are versioned (doc/architecture.md
# "Plugins").
# - libestoria.so: every defined est_* symbol carries a version
#   (est_x@@ESTORIA_1 or @@ESTORIA_EXPERIMENTAL in readelf --dyn-syms), so
#   it can never bind to another library's unversioned est_x;
# - each plugin defines exactly one dynamic symbol, plugin_entry; no est_*
#   or estoria symbol appears in its dynamic table, defined or not, and it
#   does not need libestoria.so;
# - nothing in it would keep it loaded after dlclose: no STB_GNU_UNIQUE
#   symbol, no DF_1_NODELETE flag.
set -u
status=0
fail() { echo "FAIL: $*" >&2; status=1; }
lib=$1
shift

# readelf -W --dyn-syms: Num Value Size Type Bind Vis Ndx Name
unversioned=$(readelf -W --dyn-syms "$lib" | awk '$7 != "UND" && $8 ~ /^est_/ && $8 !~ /@@?ESTORIA_/ { print $8 }')
[ -z "$unversioned" ] || fail "$lib exports est_* symbols without a version: $unversioned"
versioned=$(readelf -W --dyn-syms "$lib" | awk '$7 != "UND" && $8 ~ /^est_.*@@ESTORIA_/' | wc -l)
[ "$versioned" -gt 0 ] || fail "$lib shows no est_* symbol under an ESTORIA_ version"

for plugin in "$@"; do
  [ -f "$plugin" ] || { fail "no plugin at $plugin"; continue; }
  defined=$(nm -D --defined-only "$plugin" | awk '{ print $NF }')
  [ "$defined" = "plugin_entry" ] || fail "$plugin defines more than plugin_entry:
$defined"
  leaked=$(nm -D "$plugin" | awk '{ print $NF }' | grep -E '^est_|estoria' || true)
  [ -z "$leaked" ] || fail "$plugin's dynamic symbols name estoria:
$leaked"
  unique=$(readelf -W --dyn-syms "$plugin" | awk '$5 == "UNIQUE" { print $8 }')
  [ -z "$unique" ] || fail "$plugin has STB_GNU_UNIQUE symbols (dlclose could not unload it): $unique"
  readelf -d "$plugin" | grep -q 'NODELETE' && fail "$plugin is marked NODELETE"
  readelf -d "$plugin" | grep -q 'libestoria' && fail "$plugin needs libestoria.so"
  echo "$(basename "$plugin"): exports plugin_entry only; no estoria symbol; unloadable"
done
[ $status -eq 0 ] && echo "$(basename "$lib"): $versioned est_* symbols, every one versioned"
exit $status
