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
#
# Modules: when a folder shared/goproxy sits beside the repository (the
# project's machines and CI keep a file-system module proxy there, holding
# Estoria versions the public proxy lacks), it goes first in GOPROXY and the
# module is exempt from the checksum database: go.sum pins its hash, so the
# same go.mod and go.sum build anywhere else through the ordinary proxy.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -d "$here/../../../shared/goproxy" ]; then
  proxy=$(cd "$here/../../../shared/goproxy" && pwd)
  case "${GOPROXY:-}" in
    *"file://$proxy"*) ;;
    *) export GOPROXY="file://$proxy,${GOPROXY:-$(go env GOPROXY)}" ;;
  esac
  export GONOSUMDB="github.com/go-estoria/estoria${GONOSUMDB:+,$GONOSUMDB}"
fi
if [ -n "${ESTORIA_LIB_DIR:-}" ]; then
  inc=${ESTORIA_INCLUDE_DIR:-$here/../../capi/include}
  # Go's build cache does not hash headers outside the package: a changed
  # estoria.h (a struct grown at its end) would leave the shim compiled
  # against the old one. Its checksum in the flags is part of the cache key.
  sum=$(cksum "$inc/estoria/estoria.h" | cut -d' ' -f1)
  export CGO_CFLAGS="${CGO_CFLAGS:-} -I$inc -DESTORIA_HEADER_CKSUM=$sum"
  export CGO_LDFLAGS="-L$ESTORIA_LIB_DIR -Wl,-rpath,$ESTORIA_LIB_DIR ${CGO_LDFLAGS:-}"
  if ! pkg-config --exists estoria 2>/dev/null; then
    export GOFLAGS="${GOFLAGS:-} -tags=estoria_nopkgconfig"
  fi
fi
exec go "$@"
