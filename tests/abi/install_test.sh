#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs the C
# quickstart against the installed library twice: through pkg-config
# (estoria.pc) and through CMake's find_package(estoria). Usage:
#   install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
for f in include/estoria/estoria.h include/estoria/estoria.hpp share/estoria/estoria.fbs \
         lib/libestoria.a lib/pkgconfig/estoria.pc lib/cmake/estoria/estoriaConfig.cmake; do
  [ -e "$work/prefix/$f" ] || { echo "install_test: $f was not installed"; exit 1; }
done
[ -L "$work/prefix/lib/libestoria.so.1" ] || { echo "install_test: no libestoria.so.1"; exit 1; }

export PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig
# shellcheck disable=SC2046
cc -std=c99 -o "$work/pc_consumer" "$src/examples/quickstart/quickstart.c" $(pkg-config --cflags --libs estoria)
"$work/pc_consumer" >/dev/null

mkdir "$work/cmake_consumer"
cat > "$work/cmake_consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.22)
project(consumer C)
find_package(estoria 1 REQUIRED)
add_executable(consumer "$src/examples/quickstart/quickstart.c")
target_link_libraries(consumer PRIVATE estoria::estoria)
CMAKE
cmake -S "$work/cmake_consumer" -B "$work/cmake_consumer/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake_consumer/build" >/dev/null
"$work/cmake_consumer/build/consumer" >/dev/null
echo "install_test: pkg-config and find_package consumers built and ran"
