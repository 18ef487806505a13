# Shared build helpers: warnings for our own code, and test registration that
# honours ESTORIA_TEST_SET (the TSan tree builds only concurrency tests).

function(estoria_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()

# estoria_test(NAME name SOURCES ... LIBS ... [CONCURRENCY])
# A GoogleTest executable whose tests ctest runs one by one. CONCURRENCY
# marks it for the TSan tree (label "concurrency"); other tests are skipped
# there.
function(estoria_test)
  cmake_parse_arguments(T "CONCURRENCY" "NAME" "SOURCES;LIBS" ${ARGN})
  if(ESTORIA_TEST_SET STREQUAL "concurrency" AND NOT T_CONCURRENCY)
    return()
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  estoria_warnings(${T_NAME})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  # One label each: gtest_discover_tests would split a list into properties.
  set(label unit)
  if(T_CONCURRENCY)
    set(label concurrency)
  endif()
  gtest_discover_tests(${T_NAME}
    DISCOVERY_TIMEOUT 120
    PROPERTIES LABELS ${label} TIMEOUT 300)
endfunction()
