# Shared build helpers: warnings for our own code, and test registration that
# honours ESTORIA_TEST_SET (the TSan tree builds only concurrency tests).

# Warnings are errors in our own presets and CI (ESTORIA_WERROR=ON there),
# never for someone who builds or packages the library: a newer compiler's
# new warning must not break their build.
option(ESTORIA_WERROR "Treat compiler warnings in estoria's own code as errors" OFF)

function(estoria_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(ESTORIA_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# estoria_test(NAME name SOURCES ... LIBS ... [CONCURRENCY] [PREFIX p])
# A GoogleTest executable whose tests ctest runs one by one. CONCURRENCY
# marks it for the TSan tree (label "concurrency"); other tests are skipped
# there. PREFIX starts each ctest name (e.g. "sdk." so that -R sdk finds
# them all).
function(estoria_test)
  cmake_parse_arguments(T "CONCURRENCY" "NAME;PREFIX" "SOURCES;LIBS" ${ARGN})
  if(ESTORIA_TEST_SET STREQUAL "concurrency" AND NOT T_CONCURRENCY)
    return()
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  estoria_warnings(${T_NAME})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  # One label each: gtest_discover_tests would split a list into properties.
  # Concurrency tests take their time limit from ctest (the presets' 300 s,
  # or --timeout), since a soak (tests/common/soak.h) runs them longer; a
  # TIMEOUT property would override --timeout.
  if(T_CONCURRENCY)
    set(properties LABELS concurrency)
  else()
    set(properties LABELS unit TIMEOUT 300)
  endif()
  gtest_discover_tests(${T_NAME}
    TEST_PREFIX "${T_PREFIX}"
    DISCOVERY_TIMEOUT 120
    PROPERTIES ${properties})
endfunction()

# estoria_binding_toolchain(BINDING PROGRAM MIN_VERSION HINT OUT_VAR)
# Finds PROGRAM for BINDING's tests (go, rust or python) and checks that its
# `--version`/`version` output names MIN_VERSION or newer. Sets OUT_VAR to the
# program, or to "" when the binding is skipped by choice: ESTORIA_SKIP_BINDINGS
# (a comma list such as "go,rust", from -D or the environment) names it. A
# binding that is neither skipped nor runnable fails the configure, naming
# what to install: the test command never passes with a binding quietly left out.
function(estoria_binding_toolchain binding program min_version hint out_var)
  string(REPLACE "," ";" skipped "${ESTORIA_SKIP_BINDINGS}")
  if(binding IN_LIST skipped)
    message(STATUS "estoria: the ${binding} binding's tests are skipped (ESTORIA_SKIP_BINDINGS)")
    set(${out_var} "" PARENT_SCOPE)
    return()
  endif()
  find_program(_found ${program} HINTS $ENV{HOME}/.cargo/bin /usr/local/go/bin)
  set(_version "")
  if(_found)
    if(program STREQUAL "go")
      execute_process(COMMAND ${_found} version OUTPUT_VARIABLE _out ERROR_QUIET)
    else()
      execute_process(COMMAND ${_found} --version OUTPUT_VARIABLE _out ERROR_QUIET)
    endif()
    string(REGEX MATCH "[0-9]+\\.[0-9]+(\\.[0-9]+)?" _version "${_out}")
  endif()
  if(NOT _found OR _version STREQUAL "" OR _version VERSION_LESS min_version)
    if(_found)
      set(_what "${program} ${_version} is too old")
    else()
      set(_what "${program} was not found")
    endif()
    message(FATAL_ERROR "estoria: the ${binding} binding's tests need ${program} ${min_version} or newer "
                        "(${hint}), and ${_what}. Install it, or leave these tests out by choice with "
                        "ESTORIA_SKIP_BINDINGS=${binding} (a comma list: go,rust,python).")
  endif()
  set(${out_var} ${_found} PARENT_SCOPE)
  unset(_found CACHE)
endfunction()
