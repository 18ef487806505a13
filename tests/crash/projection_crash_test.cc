// Crash tests of the projection engine (doc/data-model.md "Projections"):
// a real projecting process (projector, fork + exec) runs over a file store
// of input events and is SIGKILLed at random moments, then started again,
// until one run reaches the head. Checked afterwards:
// - exactly once: every output stream is exactly the fold of its input
//   stream (one "POSITION AMOUNT TOTAL" per input event, in order, with the
//   running sum): no output lost, none repeated;
// - at least once: the events the handler reported across all processes
//   cover every input, and each restart begins at or before the first
//   event no earlier process finished: the checkpoint never passed what the
//   handler had done.
//
// ESTORIA_CRASH_ROUNDS (default 6) sets the rounds per mode;
// ESTORIA_CRASH_SEED fixes the random delays (the seed is printed).
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "estoria/estoria.h"
#include "gtest/gtest.h"
#include "tests/common/child_process.h"
#include "tests/common/temp_dir.h"

#ifndef ESTORIA_PROJECTOR
#error "ESTORIA_PROJECTOR must name the projector binary"
#endif

namespace {

using estoria::test::ChildProcess;
using estoria::test::Lines;
using estoria::test::TempDir;

constexpr int kStreams = 12;
constexpr int kEventsPerStream = 150;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoll(v, nullptr, 10);
}

std::string Uuid(int i) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "0190f3c4-8d1e-7c3a-9b2f-%012x", i + 1);
  return buf;
}

struct Input {
  int64_t position;
  int64_t amount;
};

class ProjectionCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = static_cast<uint64_t>(EnvInt("ESTORIA_CRASH_SEED", static_cast<int64_t>(std::random_device{}())));
    rng_.seed(seed_);
    RecordProperty("seed", std::to_string(seed_));
    std::printf("projection_crash_test seed %llu (ESTORIA_CRASH_SEED)\n", static_cast<unsigned long long>(seed_));
  }

  // Writes the inputs (amounts 1..997, interleaved across the streams) and
  // returns them per stream, with their positions.
  std::map<int, std::vector<Input>> WriteInputs(const std::string& dir) {
    est_store* store = nullptr;
    EXPECT_EQ(EST_OK, est_store_open(("file:" + dir).c_str(), nullptr, &store)) << est_last_error();
    std::map<int, std::vector<Input>> inputs;
    std::uniform_int_distribution<int64_t> amount(1, 997);
    for (int round = 0; round < kEventsPerStream / 10; ++round) {
      for (int s = 0; s < kStreams; ++s) {
        est_batch* batch = nullptr;
        est_batch_new(&batch);
        std::vector<int64_t> amounts;
        for (int i = 0; i < 10; ++i) {
          amounts.push_back(amount(rng_));
          const std::string data = std::to_string(amounts.back());
          est_batch_add(batch, "deposited", data.data(), data.size(), "text/plain");
        }
        est_append_result r = EST_APPEND_RESULT_INIT;
        const std::string stream = "in_" + Uuid(s);
        EXPECT_EQ(EST_OK, est_append_batch(store, stream.c_str(), batch, nullptr, &r, nullptr)) << est_last_error();
        est_batch_free(batch);
        for (int i = 0; i < 10; ++i) inputs[s].push_back(Input{r.first_position + i, amounts[static_cast<size_t>(i)]});
      }
    }
    est_store_close(store);
    return inputs;
  }

  // Runs projector processes, each SIGKILLed after a random delay unless it
  // finished first, until one prints "done". Returns each process's output.
  std::vector<std::string> RunUntilDone(const std::string& dir, const char* mode, int* kills) {
    std::vector<std::string> outputs;
    std::uniform_int_distribution<int> delay_ms(0, 120);
    std::uniform_int_distribution<int> batch(1, 9);
    for (int attempt = 0; attempt < 200; ++attempt) {
      ChildProcess child({ESTORIA_PROJECTOR, dir, mode, std::to_string(batch(rng_))});
      EXPECT_TRUE(child.started()) << child.error();
      if (child.WaitForLine("ready", false).empty()) {
        ADD_FAILURE() << "the projector never got ready: " << child.output();
        return outputs;
      }
      // Later attempts run longer, so that the rounds end.
      child.PumpFor(delay_ms(rng_) + attempt * 5);
      const bool done = child.output().find("\ndone\n") != std::string::npos;
      const int status = child.Finish(done ? 0 : SIGKILL);
      outputs.push_back(child.output());
      EXPECT_EQ(child.output().find("error"), std::string::npos) << child.output();
      if (done) {
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        return outputs;
      }
      ++*kills;
    }
    ADD_FAILURE() << "no projector reached the head in 200 attempts";
    return outputs;
  }

  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
};

TEST_F(ProjectionCrashTest, ExactlyOnceOutputsAreTheFoldOfTheInputsAfterKills) {
  const int64_t rounds = EnvInt("ESTORIA_CRASH_ROUNDS", 6);
  int kills = 0;
  for (int64_t round = 0; round < rounds && !HasFailure(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", seed " + std::to_string(seed_));
    TempDir dir("projcrash");
    const std::map<int, std::vector<Input>> inputs = WriteInputs(dir.path());
    RunUntilDone(dir.path(), "exactly", &kills);
    est_store* store = nullptr;
    ASSERT_EQ(EST_OK, est_store_open(("file:" + dir.path()).c_str(), nullptr, &store)) << est_last_error();
    for (const auto& [s, events] : inputs) {
      std::vector<std::string> want;
      int64_t total = 0;
      for (const Input& in : events) {
        total += in.amount;
        want.push_back(std::to_string(in.position) + " " + std::to_string(in.amount) + " " + std::to_string(total));
      }
      std::vector<std::string> got;
      est_iter* it = nullptr;
      const std::string out = "total_" + Uuid(s);
      ASSERT_EQ(EST_OK, est_read_stream(store, out.c_str(), nullptr, &it)) << est_last_error();
      est_event e = EST_EVENT_INIT;
      while (est_iter_next(it, &e) == EST_OK) got.emplace_back(reinterpret_cast<const char*>(e.data), e.data_len);
      est_iter_close(it);
      EXPECT_EQ(got, want) << "stream " << s << ": no output lost or repeated";
    }
    est_store_close(store);
  }
  RecordProperty("kills", kills);
  std::printf("exactly once: %lld rounds, %d kills\n", static_cast<long long>(rounds), kills);
  EXPECT_GT(kills, 0) << "no process was killed mid-run: the test proved nothing";
}

TEST_F(ProjectionCrashTest, AtLeastOnceNeverCheckpointsPastWhatTheHandlerFinished) {
  const int64_t rounds = EnvInt("ESTORIA_CRASH_ROUNDS", 6);
  int kills = 0;
  for (int64_t round = 0; round < rounds && !HasFailure(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", seed " + std::to_string(seed_));
    TempDir dir("projcrash");
    const std::map<int, std::vector<Input>> inputs = WriteInputs(dir.path());
    std::vector<int64_t> all;
    for (const auto& [s, events] : inputs) {
      for (const Input& in : events) all.push_back(in.position);
    }
    std::sort(all.begin(), all.end());
    const std::vector<std::string> outputs = RunUntilDone(dir.path(), "least", &kills);
    std::set<int64_t> finished;  // by every earlier process
    for (const std::string& output : outputs) {
      std::vector<int64_t> handled;
      for (const std::string& line : Lines(output)) {
        if (line.rfind("h ", 0) == 0) handled.push_back(std::strtoll(line.c_str() + 2, nullptr, 10));
      }
      if (!handled.empty()) {
        // The first event not finished by any earlier process.
        int64_t first_missing = INT64_MAX;
        for (int64_t p : all) {
          if (finished.count(p) == 0) {
            first_missing = p;
            break;
          }
        }
        EXPECT_LE(handled.front(), first_missing) << "the restart skipped an event no process had finished";
        EXPECT_TRUE(std::is_sorted(handled.begin(), handled.end()));
      }
      finished.insert(handled.begin(), handled.end());
    }
    EXPECT_EQ(std::vector<int64_t>(finished.begin(), finished.end()), all) << "every input handled at least once";
  }
  RecordProperty("kills", kills);
  std::printf("at least once: %lld rounds, %d kills\n", static_cast<long long>(rounds), kills);
  EXPECT_GT(kills, 0) << "no process was killed mid-run: the test proved nothing";
}

}  // namespace
