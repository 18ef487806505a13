#!/bin/sh
# go.sh: runs the go command against a libestoria named by ESTORIA_LIB_DIR
# (the directory holding libestoria.so), with an rpath so that test binaries
# find it without LD_LIBRARY_PATH. ESTORIA_INCLUDE_DIR names the headers'
# directory (default: capi/include of this checkout). Without ESTORIA_LIB_DIR
# it is plain `go`, and estoria.pc (PKG_CONFIG_PATH) decides.
#
#   ESTORIA_LIB_DIR=/work/main/build/release/capi bindings/go/scripts/go.sh test ./...
#
# The pkg-config directive stays in effect when estoria.pc is found (CGO_LDFLAGS
# comes first on the link line, so ESTORIA_LIB_DIR wins); when it is not, the
# build tag estoria_nopkgconfig drops the directive.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${ESTORIA_LIB_DIR:-}" ]; then
  inc=${ESTORIA_INCLUDE_DIR:-$here/../../capi/include}
  export CGO_CFLAGS="${CGO_CFLAGS:-} -I$inc"
  export CGO_LDFLAGS="-L$ESTORIA_LIB_DIR -Wl,-rpath,$ESTORIA_LIB_DIR ${CGO_LDFLAGS:-}"
  if ! pkg-config --exists estoria 2>/dev/null; then
    export GOFLAGS="${GOFLAGS:-} -tags=estoria_nopkgconfig"
  fi
fi
exec go "$@"
