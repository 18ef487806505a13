// A store written by the format 2 library (testdata/format2: FlatBuffers
// records with size prefixes) opens and reads as it is, takes new appends in
// a format 3 segment beside its old ones, and compaction rewrites it into
// compact records with nothing changed that a reader can see.
//
// What the store holds (written through the C ABI with 4 KiB segments, so
// six segments, and closed cleanly, so with an INDEX):
//   account_..01 .. account_..04: 15 events each (5 appends of 3), types
//     "deposited" / "withdrawn" / "deposited", JSON data, metadata
//     correlation_id=c-17 on each and user=ana on every third;
//   a transaction: order_..05 and order_..06, one "opened" event each
//     ("txn", text/plain), with the checkpoint orders_v1 at 61;
//   the checkpoint balances_v1 at 42; a snapshot of account_..01 at 9;
//   account_..02 truncated to versions 7..15; account_..03 deleted whole;
//   account_..04 then gets a 16th event, "closed", empty.
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/store/event_store.h"
#include "core/store/writable_batch.h"
#include "core/util/status.h"
#include "gtest/gtest.h"

namespace estoria::core {
namespace {

namespace fs = std::filesystem;

std::string StreamName(const char* type, int i) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "%s_0190f3c4-8d1e-7c3a-9b2f-%012d", type, i);
  return buf;
}

Id StreamId(const char* type, int i) { return *Id::Parse(StreamName(type, i)); }

// Every event as a reader sees it, and how it is stored.
struct Seen {
  std::string text;  // stream, version, position, type, data, content type, metadata, id, stamp
  bool compact = false;
};

std::string Describe(const EventView& v) {
  std::string metadata;
  v.ForEachMetadata([&](const char* k, const char* value) { absl::StrAppend(&metadata, k, "=", value, ";"); });
  const Id stream{std::string(v.stream_type()), v.stream_uuid()};
  return absl::StrCat(stream.ToString(), " v", v.version(), " @", v.position(), " ", ToAbsl(v.type()), " \"",
                      absl::string_view(reinterpret_cast<const char*>(v.data().data()), v.data().size()), "\" ",
                      ToAbsl(v.content_type()), " [", metadata, "] ", v.id().Hi(), "/", v.id().Lo(), " t",
                      v.timestamp_ns());
}

std::vector<Seen> Drain(absl::StatusOr<std::unique_ptr<EventIterator>> it) {
  std::vector<Seen> out;
  EXPECT_TRUE(it.ok()) << it.status();
  if (!it.ok()) return out;
  EventView views[7];
  for (;;) {
    absl::StatusOr<size_t> n = (*it)->Next(absl::MakeSpan(views));
    EXPECT_TRUE(n.ok()) << n.status();
    if (!n.ok() || *n == 0) return out;
    for (size_t i = 0; i < *n; ++i) out.push_back({Describe(views[i]), views[i].compact()});
  }
}

std::vector<std::string> Texts(const std::vector<Seen>& seen) {
  std::vector<std::string> out;
  for (const Seen& s : seen) out.push_back(s.text);
  return out;
}

class OlderFormatTest : public ::testing::TestWithParam<bool> {
 protected:
  // A copy of the store, with its INDEX (GetParam()) or without (a scan).
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("estoria-format2-", ::getpid(), "-", GetParam());
    fs::remove_all(dir_);
    fs::copy(fs::path(ESTORIA_TESTDATA_DIR) / "format2", dir_);
    if (!GetParam()) fs::remove(dir_ / "INDEX");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<EventStore> Open(std::string_view query = "") {
    absl::StatusOr<std::shared_ptr<EventStore>> store =
        OpenStore(absl::StrCat("file:", dir_.string(), ToAbsl(query)), StoreOptions());
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *store : nullptr;
  }

  fs::path dir_;
};

TEST_P(OlderFormatTest, OpensReadsAndIsRewrittenByCompaction) {
  std::vector<std::string> global;
  std::map<std::string, std::vector<std::string>> streams;
  {
    std::shared_ptr<EventStore> store = Open();
    ASSERT_NE(store, nullptr);
    const std::vector<Seen> all = Drain(store->ReadAll({}));
    ASSERT_EQ(all.size(), 15u + 9u + 16u + 2u);
    for (const Seen& s : all) EXPECT_FALSE(s.compact) << "old records are read as they are";
    global = Texts(all);
    for (int s : {1, 2, 4}) {
      streams[StreamName("account", s)] = Texts(Drain(store->ReadStream(StreamId("account", s), {})));
    }
    EXPECT_EQ(streams[StreamName("account", 1)].size(), 15u);
    EXPECT_EQ(streams[StreamName("account", 2)].size(), 9u) << "truncated below version 7";
    ASSERT_EQ(streams[StreamName("account", 4)].size(), 16u);
    EXPECT_NE(streams[StreamName("account", 1)][2].find("deposited \"{\"stream\":1,\"n\":3}\" application/json "
                                                        "[correlation_id=c-17;user=ana;]"),
              std::string::npos)
        << streams[StreamName("account", 1)][2];
    EXPECT_NE(streams[StreamName("account", 4)][15].find(" v16 @"), std::string::npos);
    EXPECT_NE(streams[StreamName("account", 4)][15].find(" closed \"\"  []"), std::string::npos)
        << streams[StreamName("account", 4)][15];
    EXPECT_TRUE(absl::IsNotFound(store->ReadStream(StreamId("account", 3), {}).status()));
    EXPECT_EQ(Texts(Drain(store->ReadStream(StreamId("order", 5), {}))).size(), 1u);
    absl::StatusOr<Checkpoint> orders = store->LoadCheckpoint("orders_v1");
    ASSERT_TRUE(orders.ok()) << orders.status();
    EXPECT_EQ(orders->position, 61);
    EXPECT_EQ(store->LoadCheckpoint("balances_v1")->position, 42);
    absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot = store->ReadSnapshot(StreamId("account", 1), 0);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_EQ((*snapshot)->version, 9);
    EXPECT_EQ((*snapshot)->data, "snap9");

    // A new append goes to a segment of the current format, beside the old ones.
    BatchBuilder builder;
    ASSERT_TRUE(builder.Add("reopened", {}, "").ok());
    ASSERT_TRUE(builder.AddMetadata("user", "bo").ok());
    absl::StatusOr<AppendResult> result = store->Append(StreamId("account", 4), *builder.Build(), {}, nullptr);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->first_version, 17);
    std::vector<Seen> after = Drain(store->ReadStream(StreamId("account", 4), {}));
    ASSERT_EQ(after.size(), 17u);
    EXPECT_FALSE(after[15].compact);
    EXPECT_TRUE(after[16].compact) << "written in a format 3 segment";
    streams[StreamName("account", 4)] = Texts(after);
    global = Texts(Drain(store->ReadAll({})));
    ASSERT_TRUE(store->Verify({}, nullptr).ok());
  }
  {
    // Reopened (from the INDEX the close wrote, over both formats), then compacted.
    std::shared_ptr<EventStore> store = Open();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(Texts(Drain(store->ReadAll({}))), global);
    CompactReport report;
    const absl::Status compacted = store->Compact({}, &report);
    ASSERT_TRUE(compacted.ok()) << compacted;
    const std::vector<Seen> all = Drain(store->ReadAll({}));
    EXPECT_EQ(Texts(all), global) << "compaction changes nothing a reader sees";
    for (const Seen& s : all) EXPECT_TRUE(s.compact) << "every record rewritten compact: " << s.text;
    ASSERT_TRUE(store->Verify({}, nullptr).ok());
  }
  {
    std::shared_ptr<EventStore> reader = Open("?mode=ro");
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(Texts(Drain(reader->ReadAll({}))), global);
    for (const auto& [name, texts] : streams) {
      EXPECT_EQ(Texts(Drain(reader->ReadStream(*Id::Parse(name), {}))), texts) << name;
    }
    EXPECT_EQ(reader->LoadCheckpoint("orders_v1")->position, 61);
    EXPECT_EQ((*reader->ReadSnapshot(StreamId("account", 1), 0))->data, "snap9");
  }
}

TEST_P(OlderFormatTest, AReadOnlyOpenReadsItWithoutChangingIt) {
  std::shared_ptr<EventStore> reader = Open("?mode=ro");
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(Drain(reader->ReadAll({})).size(), 42u);
  reader.reset();
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == "ESTORIA" || name == "INDEX" || name.ends_with(".log")) << name << " was created";
  }
}

INSTANTIATE_TEST_SUITE_P(IndexOrScan, OlderFormatTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "WithIndex" : "ByScan";
                         });

}  // namespace
}  // namespace estoria::core
