// link_pkgconfig.go: how the package finds libestoria by default, through
// estoria.pc (PKG_CONFIG_PATH=<build>/pkgconfig for a build tree). Its Libs
// carry an rpath, so test binaries run without LD_LIBRARY_PATH.
//
// With the build tag estoria_nopkgconfig this file drops out and the flags
// come only from CGO_CFLAGS / CGO_LDFLAGS, which scripts/go.sh sets from
// ESTORIA_LIB_DIR (see README.md). With both, CGO_LDFLAGS comes first on the
// link line, so ESTORIA_LIB_DIR wins over the .pc's library directory.

//go:build !estoria_nopkgconfig

package est

// #cgo pkg-config: estoria
import "C"
