#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs the C
# quickstart against the installed library twice: through pkg-config
# (estoria.pc) and through CMake's find_package(estoria); and builds the test
# plugin (tests/plugins/plugin.c) against the installed libestoria.a twice:
# through estoria-static.pc and through estoria::estoria_static, checks that
# each exports plugin_entry only, and loads and runs each. Usage:
#   install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
for f in include/estoria/estoria.h include/estoria/estoria.hpp share/estoria/estoria.fbs \
         lib/libestoria.a lib/pkgconfig/estoria.pc lib/pkgconfig/estoria-static.pc \
         lib/cmake/estoria/estoriaConfig.cmake lib/cmake/estoria/estoriaStaticTargets.cmake; do
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

# Plugins carrying their own copy of the installed libestoria.a.
plugin_src=$src/tests/plugins
plugin_map=$plugin_src/plugin.map
# shellcheck disable=SC2046
cc -std=c99 -shared -fPIC -DPLUGIN_NAME='"plugin_pc"' -o "$work/plugin_pc.so" "$plugin_src/plugin.c" \
  -Wl,--version-script="$plugin_map" -Wl,-z,defs $(pkg-config --cflags --libs estoria-static)

mkdir "$work/cmake_plugin"
cat > "$work/cmake_plugin/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.22)
project(plugin C CXX)
find_package(estoria 1 REQUIRED)
add_library(plugin_cmake SHARED "$plugin_src/plugin.c")
set_target_properties(plugin_cmake PROPERTIES PREFIX "" C_STANDARD 99)
target_compile_definitions(plugin_cmake PRIVATE PLUGIN_NAME="plugin_cmake")
target_link_libraries(plugin_cmake PRIVATE estoria::estoria_static)
target_link_options(plugin_cmake PRIVATE -Wl,--version-script=$plugin_map -Wl,-z,defs)
CMAKE
cmake -S "$work/cmake_plugin" -B "$work/cmake_plugin/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake_plugin/build" >/dev/null

sh "$plugin_src/check_plugin_symbols.sh" "$work/prefix/lib/libestoria.so.1" \
  "$work/plugin_pc.so" "$work/cmake_plugin/build/plugin_cmake.so" >/dev/null

# A host that loads a plugin with RTLD_LOCAL, runs its store and unloads it.
cat > "$work/load.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
#include "plugin_api.h"
int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    void *h = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    const plugin_api *(*entry)(void) = (const plugin_api *(*)(void))dlsym(h, "plugin_entry");
    const plugin_api *api = entry();
    void *store = NULL;
    char err[512] = "";
    int64_t delivered = 0;
    int32_t status = api->open("memory:", &store, err, sizeof err);
    if (status == 0) status = api->work(store, "loaded", 100, &delivered, err, sizeof err);
    api->close(store);
    if (status != 0 || delivered != 100) { fprintf(stderr, "%s: %d %s\n", api->name, status, err); return 1; }
    dlclose(h);
  }
  return 0;
}
C
cc -std=c99 -I"$plugin_src" -o "$work/load" "$work/load.c" -ldl
"$work/load" "$work/plugin_pc.so" "$work/cmake_plugin/build/plugin_cmake.so"
echo "install_test: pkg-config and find_package consumers built and ran; plugins on libestoria.a through estoria-static.pc and estoria::estoria_static export plugin_entry only and ran"
