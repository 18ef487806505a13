// link_nopkgconfig.go: with the build tag estoria_nopkgconfig, only -lestoria
// is named here; the -I, -L and rpath come from CGO_CFLAGS and CGO_LDFLAGS
// (scripts/go.sh sets them from ESTORIA_LIB_DIR).

//go:build estoria_nopkgconfig

package est

// #cgo LDFLAGS: -lestoria
import "C"
