// TempDir: a fresh directory under GoogleTest's temp dir for one test,
// removed with everything in it by the destructor. For the tests that start
// helper processes on a store directory (tests/crash, tests/readers).
//
// Header-only; a TempDir belongs to the test that made it.
#ifndef ESTORIA_TESTS_COMMON_TEMP_DIR_H_
#define ESTORIA_TESTS_COMMON_TEMP_DIR_H_

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "gtest/gtest.h"

namespace estoria::test {

class TempDir {
 public:
  // Makes PREFIX_XXXXXX (mkdtemp); a failure is a test failure, and path()
  // then names no directory.
  explicit TempDir(const std::string& prefix = "estoria") {
    std::string tmpl = ::testing::TempDir() + prefix + "_XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << tmpl << ": " << std::strerror(errno);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace estoria::test

#endif  // ESTORIA_TESTS_COMMON_TEMP_DIR_H_
