// Soak: how long a concurrency test races its threads.
//
// A concurrency test repeats its racing round (fresh state, threads started
// together, invariants checked as the round goes and at its end) for
// ESTORIA_SOAK_SECONDS seconds, so that threads meet in many more orders
// than one short round shows. Unset or 0: one round, as in the release and
// sanitizer suites; the test command's TSan stage sets a few seconds; a long
// soak is one command:
//
//   ESTORIA_SOAK_SECONDS=600 ctest --preset tsan --timeout 900
//
// Header-only; a Soak belongs to the test that made it.
#ifndef ESTORIA_TESTS_COMMON_SOAK_H_
#define ESTORIA_TESTS_COMMON_SOAK_H_

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "gtest/gtest.h"

namespace estoria::test {

class Soak {
 public:
  Soak() : end_(std::chrono::steady_clock::now() + std::chrono::seconds(Seconds())) {}

  // True for the first round, then while time remains and no round failed.
  bool NextRound() {
    if (rounds_ > 0 && (::testing::Test::HasFailure() || std::chrono::steady_clock::now() >= end_)) {
      if (Seconds() > 0) RecordProperty();
      return false;
    }
    ++rounds_;
    return true;
  }
  int round() const { return rounds_; }

  // ESTORIA_SOAK_SECONDS, or 0 when unset or not a number.
  static long Seconds() {
    const char* text = std::getenv("ESTORIA_SOAK_SECONDS");
    if (text == nullptr) return 0;
    char* end = nullptr;
    const long seconds = std::strtol(text, &end, 10);
    return end != text && seconds > 0 ? seconds : 0;
  }

 private:
  // In the test's XML report and on stdout (ctest keeps it with --output-junit).
  void RecordProperty() const {
    ::testing::Test::RecordProperty("soak_rounds", rounds_);
    std::printf("soak: %d rounds in %ld s\n", rounds_, Seconds());
  }

  const std::chrono::steady_clock::time_point end_;
  int rounds_ = 0;
};

}  // namespace estoria::test

#endif  // ESTORIA_TESTS_COMMON_SOAK_H_
