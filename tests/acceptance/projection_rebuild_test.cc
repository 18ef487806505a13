// tests/acceptance/projection_rebuild_test.cc: versioned rebuilds
// (doc/data-model.md "Rebuilds") through the C ABI on every backend: the
// next version runs from the first event beside the live one under its own
// checkpoint, records "caught up" when a run ends at the head, and a cutover
// makes it active and retires the old version, whose runs then fail; the
// history is kept as events of the store, and the active version can be
// asked for.
#include "tests/acceptance/projection_support.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace estoria::acceptance {
namespace {

class ProjectionRebuildTest : public Acceptance {
 protected:
  void SetUp() override {
    Acceptance::SetUp();
    if (!HasGlobalOrder()) GTEST_SKIP() << "projections follow the global order";
  }

  // The event types of the history stream of projection `name`, in order.
  std::vector<std::string> HistoryTypes(const std::string& name) {
    std::vector<std::string> types;
    for (const Event& e : ReadAll(store_).events) {
      if (e.stream_type == "estoria.projection" &&
          e.data.find("\"name\":\"" + name + "\"") != std::string::npos) {
        types.push_back(e.type);
      }
    }
    return types;
  }

  int32_t Active(const std::string& name) {
    int32_t version = -1;
    const est_status s = est_projection_active_version(store_, name.c_str(), &version);
    return s == EST_OK ? version : s;
  }
};
ESTORIA_ACCEPTANCE_SUITE(ProjectionRebuildTest);

TEST_P(ProjectionRebuildTest, TheNextVersionRunsBesideTheLiveOneThenCutsOverAndRetiresIt) {
  AppendN(store_, NewStreamId("order"), 5);
  EXPECT_EQ(Active("orders"), EST_ERR_NOT_FOUND) << "never run";
  TestProjection v1;
  ASSERT_EST_OK(v1.Open(store_, "orders", 1, ProjectionArgs().Prefix("order_")));
  ASSERT_EST_OK(v1.Run(0));
  EXPECT_EQ(Active("orders"), 1) << "the only version with a checkpoint";

  ASSERT_EST_OK(est_projection_rebuild(store_, "orders", 2, "a new read model"));
  ASSERT_EST_OK(est_projection_rebuild(store_, "orders", 2, "asked twice"));
  EXPECT_INVALID(est_projection_rebuild(store_, "orders", 1, nullptr));
  EXPECT_EQ(Active("orders"), 1) << "requested, not active";
  EXPECT_REJECTED(EST_ERR_VERSION_MISMATCH, est_projection_cutover(store_, "orders", 2)) << "not caught up yet";
  EXPECT_REJECTED(EST_ERR_VERSION_MISMATCH, est_projection_cutover(store_, "orders", 3)) << "never requested";

  // v2 starts at the first event, under its own checkpoint, while v1 lives.
  const std::vector<Event> more = AppendN(store_, NewStreamId("order"), 3);
  TestProjection v2;
  ASSERT_EST_OK(v2.Open(store_, "orders", 2, ProjectionArgs().Prefix("order_")));
  est_projection_report report = EST_PROJECTION_REPORT_INIT;
  ASSERT_EST_OK(v2.Run(0, &report));
  EXPECT_EQ(report.caught_up, 1);
  EXPECT_EQ(v2.Seen().size(), 8u);
  v1.Clear();
  ASSERT_EST_OK(v1.Run(0));
  EXPECT_EQ(v1.Seen(), more) << "the live version carries on from its own checkpoint";

  ASSERT_EST_OK(est_projection_cutover(store_, "orders", 2));
  EXPECT_EQ(Active("orders"), 2);
  ASSERT_EST_OK(est_projection_cutover(store_, "orders", 2)) << "a second cutover changes nothing";
  EXPECT_EQ(HistoryTypes("orders"),
            (std::vector<std::string>{"rebuildcreated", "caughtup", "promoted", "previousretired"}));

  // The retired version's runs fail; a new v1 is refused.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, v1.Run(0));
  TestProjection again;
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, again.Open(store_, "orders", 1));
  // v2 goes on.
  const std::vector<Event> later = AppendN(store_, NewStreamId("order"), 2);
  v2.Clear();
  ASSERT_EST_OK(v2.Run(0));
  EXPECT_EQ(v2.Seen(), later);
}

TEST_P(ProjectionRebuildTest, CutoverWhenCaughtUpPromotesTheRebuildOnItsOwn) {
  AppendN(store_, NewStreamId("order"), 4);
  TestProjection v1;
  ASSERT_EST_OK(v1.Open(store_, "totals", 1));
  ASSERT_EST_OK(v1.Run(0));
  ASSERT_EST_OK(est_projection_rebuild(store_, "totals", 3, nullptr));
  EXPECT_INVALID(est_projection_rebuild(store_, "totals", 2, nullptr)) << "below the requested 3";
  TestProjection v3;
  ASSERT_EST_OK(v3.Open(store_, "totals", 3, ProjectionArgs().Flags(EST_PROJECTION_CUTOVER_WHEN_CAUGHT_UP)));
  ASSERT_EST_OK(v3.Run(0));
  EXPECT_EQ(Active("totals"), 3);
  EXPECT_EQ(HistoryTypes("totals"),
            (std::vector<std::string>{"rebuildcreated", "caughtup", "promoted", "previousretired"}));
  // Each name has its own history.
  EXPECT_EQ(Active("orders"), EST_ERR_NOT_FOUND);
}

TEST_P(ProjectionRebuildTest, BadInputIsRefused) {
  int32_t version = 0;
  EXPECT_INVALID(est_projection_rebuild(store_, "Bad", 2, nullptr));
  EXPECT_INVALID(est_projection_rebuild(store_, nullptr, 2, nullptr));
  EXPECT_INVALID(est_projection_rebuild(store_, "good", 0, nullptr));
  EXPECT_INVALID(est_projection_rebuild(nullptr, "good", 2, nullptr));
  EXPECT_INVALID(est_projection_cutover(store_, "bad-name", 2));
  EXPECT_INVALID(est_projection_cutover(store_, "good", 0));
  EXPECT_INVALID(est_projection_active_version(store_, "good", nullptr));
  EXPECT_INVALID(est_projection_active_version(store_, "", &version));
  EXPECT_INVALID(est_projection_active_version(nullptr, "good", &version));
}

}  // namespace
}  // namespace estoria::acceptance
