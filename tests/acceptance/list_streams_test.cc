// est_list_streams: live streams in ID-text order, paged, with their
// versions and live event counts; wholly deleted streams are not listed.
#include <algorithm>
#include <string>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

class ListStreamsTest : public Acceptance {
 protected:
  struct Listed {
    std::string id;
    int64_t version, events;
    bool operator==(const Listed&) const = default;
  };
  // Every page of `page_size`, followed to the end.
  std::vector<Listed> ListAll(size_t page_size) {
    std::vector<Listed> out;
    std::string after;
    for (;;) {
      std::vector<est_stream_info> page(page_size, est_stream_info EST_STREAM_INFO_INIT);
      size_t count = 0;
      EXPECT_EST_OK(est_list_streams(store_, after.empty() ? nullptr : after.c_str(), page.data(), page.size(),
                                     &count));
      for (size_t i = 0; i < count; ++i) out.push_back({page[i].id, page[i].version, page[i].events});
      if (count < page_size) return out;
      after = out.back().id;
    }
  }
};

TEST_P(ListStreamsTest, PagesThroughLiveStreamsInIdOrder) {
  std::vector<Listed> expected;
  for (int i = 0; i < 5; ++i) {
    const std::string id = NewStreamId(i % 2 == 0 ? "account" : "order");
    AppendN(store_, id, i + 1);
    expected.push_back({id, i + 1, i + 1});
  }
  const std::string gone = NewStreamId("account");
  AppendN(store_, gone, 2);
  ASSERT_EST_OK(est_delete_stream(store_, gone.c_str(), 0));
  ASSERT_EST_OK(est_delete_stream(store_, expected[4].id.c_str(), 3));
  expected[4].events = 2;  // versions 4 and 5 remain; the version stays 5
  std::sort(expected.begin(), expected.end(), [](const Listed& a, const Listed& b) { return a.id < b.id; });

  EXPECT_EQ(ListAll(2), expected);
  EXPECT_EQ(ListAll(100), expected);
  EXPECT_EQ(ListAll(1), expected);
}

TEST_P(ListStreamsTest, AnEmptyStoreListsNothingAndBadCallsAreRefused) {
  est_stream_info info = EST_STREAM_INFO_INIT;
  size_t count = 99;
  ASSERT_EST_OK(est_list_streams(store_, nullptr, &info, 1, &count));
  EXPECT_EQ(count, 0u);
  EXPECT_INVALID(est_list_streams(store_, nullptr, &info, 0, &count));
  EXPECT_INVALID(est_list_streams(store_, nullptr, nullptr, 1, &count));
  EXPECT_INVALID(est_list_streams(store_, nullptr, &info, 1, nullptr));
  EXPECT_INVALID(est_list_streams(nullptr, nullptr, &info, 1, &count));
  const std::string too_long(EST_ID_MAX_LEN + 10, 'a');
  EXPECT_INVALID(est_list_streams(store_, too_long.c_str(), &info, 1, &count));
  est_stream_info small = info;
  small.struct_size = 4;
  EXPECT_INVALID(est_list_streams(store_, nullptr, &small, 1, &count));
}

ESTORIA_ACCEPTANCE_SUITE(ListStreamsTest);

}  // namespace
}  // namespace estoria::acceptance
