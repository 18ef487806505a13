// Concurrency tests for the process-wide log handler (also run under TSan):
// replacing or removing the handler returns only once no call of the old
// one is in progress, so its `user` may be freed and its code unloaded
// right after (doc/abi.md "The log handler").
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/util/log.h"
#include "core/util/mutex.h"
#include "gtest/gtest.h"
#include "tests/common/soak.h"

namespace estoria::core {
namespace {

// What a handler's `user` points to. `open` is a plain field on purpose:
// the test writes it after the handler's removal returned, so any call
// still running would race that write (TSan) or read freed memory (ASan).
struct Sink {
  bool open = true;
  int64_t calls = 0;  // only ever touched by handler calls, one logger thread
};

// Calls that found their sink closed: counted outside the sink, which may
// be freed by then.
std::atomic<int64_t> calls_after_close{0};

void Count(void* user, int, const char*) {
  Sink* sink = static_cast<Sink*>(user);
  // Widen the window in which a removal that did not wait would close the
  // sink under this call.
  std::this_thread::yield();
  if (!sink->open) calls_after_close.fetch_add(1);
  ++sink->calls;
}

TEST(LogHandlerConcurrency, RemovalWaitsForTheCallInProgress) {
  struct Gate {
    Mutex mu;
    CondVar cv;
    bool entered ABSL_GUARDED_BY(mu) = false;
    bool release ABSL_GUARDED_BY(mu) = false;
  } gate;
  SetLogHandler(
      [](void* user, int, const char*) {
        Gate* g = static_cast<Gate*>(user);
        MutexLock lock(&g->mu);
        g->entered = true;
        g->cv.SignalAll();
        while (!g->release) g->cv.Wait(&g->mu);
      },
      &gate);
  std::thread logger([] { Log(LogLevel::kInfo, "held in the handler"); });
  {
    MutexLock lock(&gate.mu);
    while (!gate.entered) gate.cv.Wait(&gate.mu);
  }
  std::atomic<bool> removed{false};
  std::thread remover([&] {
    SetLogHandler(nullptr, nullptr);
    removed.store(true);
  });
  // The removal is blocked for as long as the call runs.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(removed.load());
  {
    MutexLock lock(&gate.mu);
    gate.release = true;
    gate.cv.SignalAll();
  }
  remover.join();
  logger.join();
  EXPECT_TRUE(removed.load());
}

TEST(LogHandlerConcurrency, ReplacingFromInsideAHandlerDoesNotWaitForItself) {
  struct Seen {
    std::atomic<int> calls{0};
  } seen;
  SetLogHandler(
      [](void* user, int, const char*) {
        static_cast<Seen*>(user)->calls.fetch_add(1);
        SetLogHandler(nullptr, nullptr);  // forbidden by the header, yet no deadlock
      },
      &seen);
  Log(LogLevel::kInfo, "first");
  Log(LogLevel::kInfo, "dropped: the handler removed itself");
  EXPECT_EQ(seen.calls.load(), 1);
  SetLogHandler(nullptr, nullptr);
}

// One thread logs without pause while another installs a fresh handler,
// removes it, and frees its user each time: no call ever reaches a closed
// or freed user, and the calls that were made went where they should.
TEST(LogHandlerConcurrency, NoCallOutlivesTheHandlersRemoval) {
  for (test::Soak soak; soak.NextRound();) {
    std::atomic<bool> stop{false};
    std::atomic<int64_t> logged{0};
    std::thread logger([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        Log(LogLevel::kWarning, "racing the handler's removal");
        logged.fetch_add(1, std::memory_order_relaxed);
      }
    });
    while (logged.load() == 0) std::this_thread::yield();
    int64_t heard = 0;
    calls_after_close.store(0);
    constexpr int kReplacements = 500;
    // Until some call met a handler too (a round that heard none would
    // prove nothing), within a bound.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (int i = 0; i < kReplacements || (heard == 0 && std::chrono::steady_clock::now() < give_up); ++i) {
      auto sink = std::make_unique<Sink>();
      SetLogHandler(&Count, sink.get());
      // Let the logger reach the handler now and then.
      if (i % 64 == 0) std::this_thread::yield();
      if (i % 2 == 0) {
        SetLogHandler(nullptr, nullptr);
      } else {
        auto next = std::make_unique<Sink>();  // replaced, not removed
        SetLogHandler(&Count, next.get());
        SetLogHandler(nullptr, nullptr);
        next->open = false;
        heard += next->calls;
      }
      sink->open = false;  // after the removal returned: no call may see it
      heard += sink->calls;
      std::this_thread::yield();  // a call still running would now see it closed
      sink.reset();
    }
    stop.store(true);
    logger.join();
    EXPECT_EQ(calls_after_close.load(), 0);
    EXPECT_LE(heard, logged.load());
    EXPECT_GT(heard, 0);
  }
}

}  // namespace
}  // namespace estoria::core
