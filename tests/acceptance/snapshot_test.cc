// tests/acceptance/snapshot_test.cc: snapshots (doc/data-model.md
// "Snapshots" and "Identity"): which one is newest,
// max_version, NOT_FOUND, timestamps, payloads, and snapshots of streams that
// do not exist.
#include <string>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

class SnapshotTest : public Acceptance {
 protected:
  void Write(const std::string& id, int64_t version, const std::string& data, const char* content_type = nullptr,
             int64_t timestamp_ns = 0) {
    est_snapshot_write_options options = EST_SNAPSHOT_WRITE_OPTIONS_INIT;
    options.timestamp_ns = timestamp_ns;
    ASSERT_EST_OK(
        est_snapshot_write(store_, id.c_str(), version, data.data(), data.size(), content_type, &options));
  }

  SnapshotRead ReadSnapshot(const std::string& id, int64_t max_version = 0) {
    return acceptance::ReadSnapshot(store_, id, max_version);
  }
};
ESTORIA_ACCEPTANCE_SUITE(SnapshotTest);

TEST_P(SnapshotTest, NewestIsTheHighestVersion) {
  const std::string id = NewStreamId();
  Write(id, 3, "three");
  Write(id, 7, "seven");
  Write(id, 5, "five");
  SnapshotRead r = ReadSnapshot(id);
  ASSERT_EST_OK(r.status);
  EXPECT_EQ(r.version, 7);
  EXPECT_EQ(r.data, "seven");
}

TEST_P(SnapshotTest, AtTheSameVersionTheLatestWrittenWins) {
  const std::string id = NewStreamId();
  Write(id, 5, "first");
  Write(id, 5, "second");
  Write(id, 4, "older");
  SnapshotRead r = ReadSnapshot(id);
  ASSERT_EST_OK(r.status);
  EXPECT_EQ(r.version, 5);
  EXPECT_EQ(r.data, "second");
  EXPECT_EQ(ReadSnapshot(id, 5).data, "second");
}

TEST_P(SnapshotTest, MaxVersionPicksTheNewestAtOrBelowIt) {
  const std::string id = NewStreamId();
  Write(id, 3, "three");
  Write(id, 7, "seven");
  EXPECT_EQ(ReadSnapshot(id, 5).version, 3);
  EXPECT_EQ(ReadSnapshot(id, 3).version, 3);
  EXPECT_EQ(ReadSnapshot(id, 7).version, 7);
  EXPECT_EQ(ReadSnapshot(id, 100).version, 7);
  EXPECT_EQ(ReadSnapshot(id, 0).version, 7) << "0 = newest";
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadSnapshot(id, 2).status);
}

TEST_P(SnapshotTest, PruneKeepsTheNewestAndThoseAtOrAboveMinVersion) {
  const std::string id = NewStreamId();
  for (int64_t v : {1, 2, 3, 4, 5}) {
    ASSERT_EST_OK(est_snapshot_write(store_, id.c_str(), v, "x", 1, nullptr, nullptr));
  }
  ASSERT_EST_OK(est_snapshot_prune(store_, id.c_str(), 0, 0)) << "no bound: nothing goes";
  EXPECT_EQ(ReadSnapshot(id, 1).version, 1);
  ASSERT_EST_OK(est_snapshot_prune(store_, id.c_str(), 0, 2));
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadSnapshot(id, 1).status) << "below min_version";
  EXPECT_EQ(ReadSnapshot(id, 2).version, 2);
  ASSERT_EST_OK(est_snapshot_prune(store_, id.c_str(), 2, 0));
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadSnapshot(id, 3).status) << "only the 2 newest are kept";
  EXPECT_EQ(ReadSnapshot(id, 4).version, 4);
  EXPECT_EQ(ReadSnapshot(id).version, 5);
  const std::string none = NewStreamId();
  EXPECT_EST_OK(est_snapshot_prune(store_, none.c_str(), 1, 1)) << "nothing to prune is not an error";
}

TEST_P(SnapshotTest, NoSnapshotIsNotFound) {
  const std::string id = NewStreamId();
  est_snapshot* snapshot = nullptr;
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, est_snapshot_read(store_, id.c_str(), 0, &snapshot));
  EXPECT_EQ(snapshot, nullptr);
  AppendN(store_, id, 3);
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadSnapshot(id).status) << "events alone make no snapshot";
}

TEST_P(SnapshotTest, VersionMustBePositive) {
  const std::string id = NewStreamId();
  EXPECT_INVALID(est_snapshot_write(store_, id.c_str(), 0, "x", 1, nullptr, nullptr));
  EXPECT_INVALID(est_snapshot_write(store_, id.c_str(), -1, "x", 1, nullptr, nullptr));
  EXPECT_INVALID(est_snapshot_write(store_, id.c_str(), INT64_MIN, "x", 1, nullptr, nullptr));
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadSnapshot(id).status) << "a rejected write stores nothing";
  est_snapshot* snapshot = nullptr;
  EXPECT_INVALID(est_snapshot_read(store_, id.c_str(), -1, &snapshot));
  EXPECT_EQ(snapshot, nullptr);
}

TEST_P(SnapshotTest, GivenTimestampIsKeptAndZeroMeansWriteTime) {
  const std::string id = NewStreamId();
  Write(id, 1, "given", nullptr, 1234567890123456789);
  EXPECT_EQ(ReadSnapshot(id).timestamp_ns, 1234567890123456789);

  const int64_t before = NowNs();
  Write(id, 2, "stamped");
  const int64_t after = NowNs();
  SnapshotRead r = ReadSnapshot(id);
  EXPECT_EQ(r.version, 2);
  EXPECT_GE(r.timestamp_ns, before);
  EXPECT_LE(r.timestamp_ns, after);

  // NULL options are the defaults: stamped by the store.
  ASSERT_EST_OK(est_snapshot_write(store_, id.c_str(), 3, "n", 1, nullptr, nullptr));
  EXPECT_GE(ReadSnapshot(id).timestamp_ns, before);
}

TEST_P(SnapshotTest, DataAndContentTypeRoundTripVerbatim) {
  const std::string id = NewStreamId();
  std::string binary;
  for (int i = 0; i < 300; ++i) binary += static_cast<char>(i % 256);
  Write(id, 1, binary, " application/x-State; v=2 ");
  SnapshotRead r = ReadSnapshot(id);
  EXPECT_EQ(r.data, binary);
  EXPECT_EQ(r.content_type, " application/x-State; v=2 ");

  Write(id, 2, "", nullptr);
  r = ReadSnapshot(id);
  EXPECT_EQ(r.data, "");
  EXPECT_EQ(r.content_type, "") << "NULL content type reads as \"\"";

  ASSERT_EST_OK(est_snapshot_write(store_, id.c_str(), 3, nullptr, 0, "", nullptr));  // (NULL, 0): empty
  r = ReadSnapshot(id);
  EXPECT_EQ(r.version, 3);
  EXPECT_EQ(r.data, "");
}

TEST_P(SnapshotTest, ASnapshotMayExistForAStreamThatDoesNot) {
  const std::string id = NewStreamId();
  Write(id, 4, "orphan");
  EXPECT_EQ(ReadSnapshot(id).data, "orphan");
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadStream(store_, id).status) << "writing a snapshot creates no stream";
  EXPECT_TRUE(Everything().empty());
}

TEST_P(SnapshotTest, IdentityIsTypeAndUuid) {
  const est_uuid uuid = NewUuidV4();
  Write(FormatId("account", uuid), 2, "account");
  Write(FormatId("order", uuid), 1, "order");
  EXPECT_EQ(ReadSnapshot(FormatId("account", uuid)).data, "account");
  EXPECT_EQ(ReadSnapshot(FormatId("order", uuid)).data, "order");
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadSnapshot(FormatId("cart", uuid)).status);
  EXPECT_EST(EST_ERR_NOT_FOUND, ReadSnapshot(FormatId("account", NewUuidV4())).status);
}

TEST_P(SnapshotTest, HandleIsOwnedAndOutlivesLaterWritesAndDeletion) {
  const std::string id = NewStreamId();
  AppendN(store_, id, 2);
  Write(id, 2, "kept");
  est_snapshot* snapshot = nullptr;
  ASSERT_EST_OK(est_snapshot_read(store_, id.c_str(), 0, &snapshot));
  Write(id, 3, "newer");
  ASSERT_EST_OK(est_delete_stream(store_, id.c_str(), 0));
  size_t len = 0;
  const uint8_t* data = est_snapshot_data(snapshot, &len);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(data), len), "kept");
  EXPECT_EQ(est_snapshot_version(snapshot), 2);
  est_snapshot_free(snapshot);
}

TEST_P(SnapshotTest, NullSnapshotAccessorsGiveZeroNullAndEmpty) {
  size_t len = 99;
  EXPECT_EQ(est_snapshot_version(nullptr), 0);
  EXPECT_EQ(est_snapshot_timestamp_ns(nullptr), 0);
  EXPECT_EQ(est_snapshot_data(nullptr, &len), nullptr);
  EXPECT_EQ(len, 0u);
  ASSERT_NE(est_snapshot_content_type(nullptr), nullptr);
  EXPECT_STREQ(est_snapshot_content_type(nullptr), "");
  est_snapshot_free(nullptr);
}

}  // namespace
}  // namespace estoria::acceptance
