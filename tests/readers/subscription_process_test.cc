// Live subscriptions across processes: follow_writer appends to a file store
// (acknowledging each batch on its stdout) while two subscribe_follower
// processes, each with a read-only open and a subscription from the first
// event, print what they are delivered. Every acknowledged event of a live
// stream must reach each subscriber exactly once and in position order, also
// across the writer's segment rolls (a small segment_bytes) and a deletion
// plus compaction; events of the deleted stream may be delivered (before the
// deletion) or not, but never twice and never out of order.
//
// Not run in the TSan tree (fork + exec of helpers, as the rest of
// tests/readers).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/common/child_process.h"
#include "tests/common/temp_dir.h"

#ifndef ESTORIA_FOLLOW_WRITER
#error "ESTORIA_FOLLOW_WRITER must name the follow_writer binary"
#endif
#ifndef ESTORIA_SUBSCRIBE_FOLLOWER
#error "ESTORIA_SUBSCRIBE_FOLLOWER must name the subscribe_follower binary"
#endif

namespace {

using estoria::test::ChildProcess;
using estoria::test::TempDir;
using Clock = std::chrono::steady_clock;

struct Ack {
  long long batch = 0, size = 0, first_position = 0, last_position = 0;
  int stream = 0;
};

struct Delivered {
  long long position = 0, batch = 0, index = 0, size = 0;
  int stream = 0;
};

void CheckSubscriber(const std::string& name, const std::vector<std::string>& lines,
                     const std::map<long long, Ack>& acks, int doomed) {
  std::vector<Delivered> got;
  for (const std::string& line : lines) {
    if (line.rfind("error", 0) == 0) ADD_FAILURE() << name << ": " << line;
    Delivered d;
    long long v = 0;
    if (std::sscanf(line.c_str(), "ev %lld b=%lld i=%lld n=%lld s=%d v=%lld", &d.position, &d.batch, &d.index,
                    &d.size, &d.stream, &v) == 6) {
      got.push_back(d);
    }
  }
  // Strictly ascending positions: order, and no event twice.
  for (size_t i = 1; i < got.size(); ++i) {
    ASSERT_GT(got[i].position, got[i - 1].position) << name << ": delivery " << i << " is out of order";
  }
  // The live streams' events: exactly the acknowledged ones, in batch order.
  std::vector<std::pair<long long, long long>> want, live;
  for (const auto& [batch, ack] : acks) {
    if (ack.stream == doomed) continue;
    for (long long i = 0; i < ack.size; ++i) want.emplace_back(batch, i);
  }
  for (const Delivered& d : got) {
    const auto ack = acks.find(d.batch);
    ASSERT_NE(ack, acks.end()) << name << ": delivered batch " << d.batch << " was never acknowledged";
    EXPECT_EQ(ack->second.first_position + d.index, d.position) << name << ": batch " << d.batch;
    if (d.stream != doomed) live.emplace_back(d.batch, d.index);
  }
  EXPECT_EQ(live.size(), want.size()) << name;
  EXPECT_TRUE(live == want) << name << ": the live events delivered differ from those acknowledged";
}

void SubscribeWhileWriting(const std::vector<std::string>& writer_args, int streams) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/store";
  std::vector<std::string> args = {ESTORIA_FOLLOW_WRITER, dir, "streams=" + std::to_string(streams)};
  args.insert(args.end(), writer_args.begin(), writer_args.end());
  ChildProcess writer(args);
  ASSERT_TRUE(writer.started()) << writer.error();
  // Waits for "ready" without taking lines: the first acks may come with it.
  const auto ready_by = Clock::now() + std::chrono::seconds(60);
  while (!writer.eof() && writer.output().find("ready ") == std::string::npos && Clock::now() < ready_by) {
    writer.Pump(20);
  }
  ASSERT_NE(writer.output().find("ready "), std::string::npos) << writer.output();
  std::vector<std::string> writer_lines;

  std::vector<std::unique_ptr<ChildProcess>> subs;
  for (int i = 0; i < 2; ++i) {
    subs.push_back(std::make_unique<ChildProcess>(std::vector<std::string>{ESTORIA_SUBSCRIBE_FOLLOWER, dir},
                                                  /*with_stdin=*/true));
    ASSERT_TRUE(subs.back()->started()) << subs.back()->error();
  }
  std::vector<std::vector<std::string>> sub_lines(subs.size());
  const auto deadline = Clock::now() + std::chrono::seconds(240);
  auto pump_subs = [&] {
    for (size_t i = 0; i < subs.size(); ++i) {
      subs[i]->Pump(0);
      for (std::string& line : subs[i]->NewLines()) sub_lines[i].push_back(std::move(line));
    }
  };
  while (!writer.eof() && Clock::now() < deadline) {
    writer.Pump(5);
    for (std::string& line : writer.NewLines()) writer_lines.push_back(std::move(line));
    pump_subs();
  }
  ASSERT_TRUE(writer.eof()) << "the writer did not finish in time";
  for (std::string& line : writer.NewLines()) writer_lines.push_back(std::move(line));
  std::map<long long, Ack> acks;
  long long target = 0;
  bool compacted = false;
  for (const std::string& line : writer_lines) {
    Ack a;
    if (std::sscanf(line.c_str(), "ack %lld %d %lld %*d %*d %lld %lld", &a.batch, &a.stream, &a.size,
                    &a.first_position, &a.last_position) == 5) {
      acks[a.batch] = a;
      if (a.stream != streams && a.last_position > target) target = a.last_position;
    }
    if (line.rfind("compacted ", 0) == 0) compacted = true;
    ASSERT_NE(line.rfind("error", 0), 0u) << line;
  }
  ASSERT_FALSE(acks.empty());
  for (auto& sub : subs) ASSERT_TRUE(sub->Send("until " + std::to_string(target)));
  for (size_t i = 0; i < subs.size(); ++i) {
    const std::string end = subs[i]->WaitForLine("end ", true, std::chrono::seconds(60), &sub_lines[i]);
    EXPECT_FALSE(end.empty()) << "subscriber " << i << " never reached position " << target;
    subs[i]->Finish(0);
    for (std::string& line : subs[i]->NewLines()) sub_lines[i].push_back(std::move(line));
  }
  if (std::find(writer_args.begin(), writer_args.end(), "compact_at=150") != writer_args.end()) {
    EXPECT_TRUE(compacted) << "the writer never compacted";
  }
  for (size_t i = 0; i < subs.size(); ++i) {
    CheckSubscriber("subscriber " + std::to_string(i), sub_lines[i], acks, streams);
  }
}

TEST(SubscriptionProcess, TwoSubscriberProcessesGetEveryAcknowledgedEventOnceInOrderAcrossSegmentRolls) {
  SubscribeWhileWriting({"batches=200", "segment_bytes=16384"}, 3);
}

TEST(SubscriptionProcess, DeletionAndCompactionInTheWriterLoseNothingLiveAndRepeatNothing) {
  SubscribeWhileWriting({"batches=300", "pause_us=500", "segment_bytes=32768", "doomed_every=4", "compact_at=150"},
                        3);
}

}  // namespace
