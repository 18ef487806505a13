# cmake --install: the library (shared and static), the header, the SDK and
# typed-aggregate headers, the schema, a CMake package config (estoria::estoria,
# and estoria::estoria_static where Abseil's package is found), estoria.pc and
# estoria-static.pc.
include(CMakePackageConfigHelpers)

install(TARGETS estoria EXPORT estoriaTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# libestoria.a in an export set of its own: its consumers need Abseil's
# CMake package, which users of the shared library do not.
install(TARGETS estoria_static EXPORT estoriaStaticTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/capi/include/estoria DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/include/estoria DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/aggregates/include/estoria DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/schema/estoria.fbs DESTINATION ${CMAKE_INSTALL_DATADIR}/estoria)

install(EXPORT estoriaTargets NAMESPACE estoria:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/estoria)
install(EXPORT estoriaStaticTargets NAMESPACE estoria:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/estoria)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/estoriaConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/estoriaConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/estoria)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/estoriaConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/estoriaConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/estoriaConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/estoria)

# estoria.pc for the installed tree, estoria-uninstalled.pc for the build tree
# (bindings and examples find the freshly built library through it).
# Relocatable: the prefix is found from the .pc file's own place, so
# `cmake --install --prefix ANYWHERE` gives a working estoria.pc.
file(RELATIVE_PATH PC_UP "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
set(PC_PREFIX "\${pcfiledir}/${PC_UP}")
set(PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
set(PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
# estoria-static.pc: libestoria.a and what it needs (doc/architecture.md "Plugins").
set(PC_STATIC_REQUIRES "absl_status absl_statusor absl_strings absl_str_format absl_span absl_flat_hash_map absl_hash absl_cord absl_time")
if(ESTORIA_WITH_POSTGRES)
  string(APPEND PC_STATIC_REQUIRES " libpq")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/estoria.pc.in ${CMAKE_CURRENT_BINARY_DIR}/estoria.pc @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/estoria-static.pc.in ${CMAKE_CURRENT_BINARY_DIR}/estoria-static.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/estoria.pc ${CMAKE_CURRENT_BINARY_DIR}/estoria-static.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(PC_PREFIX ${PROJECT_BINARY_DIR})
set(PC_LIBDIR "${PROJECT_BINARY_DIR}/capi")
set(PC_INCLUDEDIR "${PROJECT_SOURCE_DIR}/capi/include")
configure_file(${PROJECT_SOURCE_DIR}/cmake/estoria.pc.in ${PROJECT_BINARY_DIR}/pkgconfig/estoria.pc @ONLY)
