// est_set_allocator: a counting allocator set first, then stores that grow
// through it. The allocator is process-wide and set once, so this is its own
// executable, and the order of the cases below matters: ctest runs
// HostAllocator.* in one process, in the order they are written, and each
// of the other suites in a process of its own (tests/acceptance/CMakeLists.txt).
// Every other executable runs without an allocator: the rest of the suite is
// the test that nothing changes then.
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#define EST_EXPERIMENTAL 1  // est_set_allocator is in the experimental section
#include "estoria/estoria.h"
#include "gtest/gtest.h"

namespace {

// Counts what passes through the hooks; checks each release against its
// allocation (same pointer, same size) and each block's alignment.
struct Counting {
  std::mutex mu;
  std::unordered_map<void*, size_t> live;  // the test's own heap, not the hooks'
  uint64_t allocations = 0;
  uint64_t allocated_bytes = 0;  // in all, released or not
  uint64_t outstanding_bytes = 0;
  uint64_t max_alignment = 0;
  uint64_t misaligned = 0;
  uint64_t bad_releases = 0;  // unknown pointer or another size

  uint64_t Outstanding() {
    std::lock_guard<std::mutex> lock(mu);
    return live.size();
  }
  uint64_t OutstandingBytes() {
    std::lock_guard<std::mutex> lock(mu);
    return outstanding_bytes;
  }
  uint64_t AllocatedBytes() {
    std::lock_guard<std::mutex> lock(mu);
    return allocated_bytes;
  }
};

Counting counting;

void* CountingAllocate(void* user, size_t size, size_t alignment) {
  auto* c = static_cast<Counting*>(user);
  void* p = nullptr;
  const size_t align = alignment < sizeof(void*) ? sizeof(void*) : alignment;
  if (posix_memalign(&p, align, size) != 0) return nullptr;
  std::lock_guard<std::mutex> lock(c->mu);
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || reinterpret_cast<uintptr_t>(p) % alignment != 0) {
    ++c->misaligned;
  }
  if (alignment > c->max_alignment) c->max_alignment = alignment;
  c->live[p] = size;
  ++c->allocations;
  c->allocated_bytes += size;
  c->outstanding_bytes += size;
  return p;
}

void CountingDeallocate(void* user, void* ptr, size_t size) {
  auto* c = static_cast<Counting*>(user);
  {
    std::lock_guard<std::mutex> lock(c->mu);
    auto it = c->live.find(ptr);
    if (it == c->live.end() || it->second != size) {
      ++c->bad_releases;
      return;  // leak it rather than free what we did not hand out
    }
    c->outstanding_bytes -= size;
    c->live.erase(it);
  }
  free(ptr);
}

void* NeverAllocate(void*, size_t, size_t) { return nullptr; }
void NeverDeallocate(void*, void*, size_t) {}

constexpr int kStreams = 10;
constexpr int kAppendsPerStream = 100;
constexpr int kEventsPerAppend = 10;  // 10 x 100 x 10 = 10,000 events
constexpr int kEvents = kStreams * kAppendsPerStream * kEventsPerAppend;
constexpr size_t kPayload = 100;
constexpr size_t kSnapshotBytes = 64 * 1024;

std::string NewStreamId() {
  est_uuid uuid;
  EXPECT_EQ(est_uuid_v7(&uuid), EST_OK);
  char id[EST_ID_MAX_LEN];
  EXPECT_EQ(est_id_format("account", &uuid, id, sizeof id), EST_OK);
  return id;
}

// Appends kEvents events of kPayload bytes to kStreams streams, reads them
// back (globally and stream by stream), writes and reads a snapshot; the
// streams' IDs go to *ids.
void Fill(est_store* store, std::vector<std::string>* ids) {
  est_batch* batch = nullptr;
  ASSERT_EQ(est_batch_new(&batch), EST_OK);
  std::string payload(kPayload, 'x');
  for (int s = 0; s < kStreams; ++s) ids->push_back(NewStreamId());
  for (int a = 0; a < kAppendsPerStream; ++a) {
    for (int s = 0; s < kStreams; ++s) {
      for (int e = 0; e < kEventsPerAppend; ++e) {
        ASSERT_EQ(est_batch_add(batch, "deposited", payload.data(), payload.size(), "application/octet-stream"),
                  EST_OK);
      }
      ASSERT_EQ(est_append_batch(store, (*ids)[s].c_str(), batch, nullptr, nullptr, nullptr), EST_OK)
          << est_last_error();
      // A fresh batch for the next append (est_append_batch keeps no reference).
      est_batch_free(batch);
      ASSERT_EQ(est_batch_new(&batch), EST_OK);
    }
  }
  est_batch_free(batch);

  est_iter* it = nullptr;
  ASSERT_EQ(est_read_all(store, nullptr, &it), EST_OK) << est_last_error();
  est_event event = EST_EVENT_INIT;
  int read = 0;
  size_t bytes = 0;
  est_status status;
  while ((status = est_iter_next(it, &event)) == EST_OK) {
    ++read;
    bytes += event.data_len;
  }
  EXPECT_EQ(status, EST_END) << est_last_error();
  est_iter_close(it);
  EXPECT_EQ(read, kEvents);
  EXPECT_EQ(bytes, kEvents * kPayload);

  for (const std::string& id : *ids) {
    ASSERT_EQ(est_read_stream(store, id.c_str(), nullptr, &it), EST_OK) << est_last_error();
    est_event events[32];
    for (est_event& e : events) est_event_init(&e);
    size_t count = 0;
    int in_stream = 0;
    while ((status = est_iter_next_batch(it, events, 32, &count)) == EST_OK) in_stream += static_cast<int>(count);
    EXPECT_EQ(status, EST_END) << est_last_error();
    est_iter_close(it);
    EXPECT_EQ(in_stream, kAppendsPerStream * kEventsPerAppend);
  }

  const std::string state(kSnapshotBytes, 's');
  ASSERT_EQ(est_snapshot_write(store, (*ids)[0].c_str(), 5, state.data(), state.size(), "application/octet-stream",
                               nullptr),
            EST_OK)
      << est_last_error();
  est_snapshot* snapshot = nullptr;
  ASSERT_EQ(est_snapshot_read(store, (*ids)[0].c_str(), 0, &snapshot), EST_OK) << est_last_error();
  size_t len = 0;
  const uint8_t* data = est_snapshot_data(snapshot, &len);
  ASSERT_EQ(len, state.size());
  EXPECT_EQ(std::memcmp(data, state.data(), len), 0);
  est_snapshot_free(snapshot);
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "estoria-allocator-XXXXXX").string();
    path_ = mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~TempDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(HostAllocator, BadInputIsRefusedAndChangesNothing) {
  EXPECT_EQ(est_set_allocator(nullptr), EST_ERR_INVALID_ARGUMENT);
  est_allocator a = EST_ALLOCATOR_INIT;
  a.deallocate = NeverDeallocate;
  EXPECT_EQ(est_set_allocator(&a), EST_ERR_INVALID_ARGUMENT);  // no allocate
  EXPECT_NE(std::string(est_last_error()).find("allocate"), std::string::npos) << est_last_error();
  a = est_allocator EST_ALLOCATOR_INIT;
  a.allocate = NeverAllocate;
  EXPECT_EQ(est_set_allocator(&a), EST_ERR_INVALID_ARGUMENT);  // no deallocate
  a.deallocate = NeverDeallocate;
  a.struct_size = 0;
  EXPECT_EQ(est_set_allocator(&a), EST_ERR_INVALID_ARGUMENT);
  a.struct_size = sizeof(est_allocator) - 1;
  EXPECT_EQ(est_set_allocator(&a), EST_ERR_INVALID_ARGUMENT);
  a.struct_size = 1u << 20;  // an uninitialised struct_size
  EXPECT_EQ(est_set_allocator(&a), EST_ERR_INVALID_ARGUMENT);
}

TEST(HostAllocator, SetOnceThenRefused) {
  est_allocator a;
  est_allocator_init(&a);
  EXPECT_EQ(a.struct_size, sizeof(est_allocator));
  a.allocate = CountingAllocate;
  a.deallocate = CountingDeallocate;
  a.user = &counting;
  ASSERT_EQ(est_set_allocator(&a), EST_OK) << est_last_error();

  // A second one, even the same, changes nothing.
  est_allocator other = EST_ALLOCATOR_INIT;
  other.allocate = NeverAllocate;
  other.deallocate = NeverDeallocate;
  EXPECT_EQ(est_set_allocator(&other), EST_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(est_last_error()).find("set already"), std::string::npos) << est_last_error();
  EXPECT_EQ(est_set_allocator(&a), EST_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(counting.Outstanding(), 0u);
}

TEST(HostAllocator, MemoryStoreGrowsThroughTheHookAndGivesEverythingBack) {
  est_store* store = nullptr;
  ASSERT_EQ(est_store_open("memory:", nullptr, &store), EST_OK) << est_last_error();
  const uint64_t before = counting.AllocatedBytes();
  std::vector<std::string> ids;
  Fill(store, &ids);
  // The memory store keeps every event's record (payload and envelope) in
  // blocks from the hook, with its index arrays.
  EXPECT_GE(counting.OutstandingBytes(), kEvents * kPayload + kSnapshotBytes);
  EXPECT_GE(counting.AllocatedBytes() - before, kEvents * kPayload + kSnapshotBytes);
  est_store_close(store);
  EXPECT_EQ(counting.Outstanding(), 0u);
  EXPECT_EQ(counting.OutstandingBytes(), 0u);
  EXPECT_EQ(counting.bad_releases, 0u);
  EXPECT_EQ(counting.misaligned, 0u);
}

TEST(HostAllocator, FileStoreGrowsThroughTheHookAndGivesEverythingBack) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string uri = "file:" + dir.path() + "/events";
  est_store* store = nullptr;
  ASSERT_EQ(est_store_open(uri.c_str(), nullptr, &store), EST_OK) << est_last_error();
  const uint64_t before = counting.AllocatedBytes();
  std::vector<std::string> ids;
  Fill(store, &ids);
  // Every event's record passes through a block from the hook on its way
  // to the log; the index (8 bytes an event, twice) and the snapshot stay.
  EXPECT_GE(counting.AllocatedBytes() - before, kEvents * kPayload + kSnapshotBytes);
  EXPECT_GE(counting.OutstandingBytes(), 2 * 8 * kEvents + kSnapshotBytes);
  est_store_close(store);
  EXPECT_EQ(counting.Outstanding(), 0u);

  // Reopened: recovery reads the log into buffers from the hook and builds
  // the index there again.
  const uint64_t before_reopen = counting.AllocatedBytes();
  ASSERT_EQ(est_store_open(uri.c_str(), nullptr, &store), EST_OK) << est_last_error();
  est_iter* it = nullptr;
  ASSERT_EQ(est_read_all(store, nullptr, &it), EST_OK);
  est_event event = EST_EVENT_INIT;
  int read = 0;
  while (est_iter_next(it, &event) == EST_OK) ++read;
  EXPECT_EQ(read, kEvents);
  EXPECT_GE(counting.AllocatedBytes() - before_reopen, 2 * 8 * kEvents + kSnapshotBytes);
  // An iterator outlives its store's close; what it holds goes with it.
  est_store_close(store);
  EXPECT_GT(counting.Outstanding(), 0u);
  est_iter_close(it);

  EXPECT_EQ(counting.Outstanding(), 0u);
  EXPECT_EQ(counting.OutstandingBytes(), 0u);
  EXPECT_EQ(counting.bad_releases, 0u);
  EXPECT_EQ(counting.misaligned, 0u);
  EXPECT_LE(counting.max_alignment, 16u);
}

// Run in a process of its own (see the top of the file).
TEST(HostAllocatorAfterOpen, SetAfterAStoreWasOpenedIsRefused) {
  est_store* store = nullptr;
  ASSERT_EQ(est_store_open("memory:", nullptr, &store), EST_OK) << est_last_error();
  est_store_close(store);
  est_allocator a = EST_ALLOCATOR_INIT;
  a.allocate = CountingAllocate;
  a.deallocate = CountingDeallocate;
  a.user = &counting;
  EXPECT_EQ(est_set_allocator(&a), EST_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(est_last_error()).find("too late"), std::string::npos) << est_last_error();
  // Nothing changed: the library goes on with its own allocator.
  ASSERT_EQ(est_store_open("memory:", nullptr, &store), EST_OK);
  est_batch* batch = nullptr;
  ASSERT_EQ(est_batch_new(&batch), EST_OK);
  ASSERT_EQ(est_batch_add(batch, "opened", "{}", 2, "application/json"), EST_OK);
  ASSERT_EQ(est_append_batch(store, NewStreamId().c_str(), batch, nullptr, nullptr, nullptr), EST_OK);
  est_batch_free(batch);
  est_store_close(store);
  EXPECT_EQ(counting.allocations, 0u);
}

// Run in a process of its own: the process's first call is an open that fails.
TEST(HostAllocatorAfterFailedOpen, SetAfterAFailedOpenIsRefused) {
  est_store* store = nullptr;
  EXPECT_NE(est_store_open("nosuchscheme://x", nullptr, &store), EST_OK);
  est_allocator a = EST_ALLOCATOR_INIT;
  a.allocate = CountingAllocate;
  a.deallocate = CountingDeallocate;
  EXPECT_EQ(est_set_allocator(&a), EST_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(est_last_error()).find("too late"), std::string::npos) << est_last_error();
}

// Run in a process of its own: a batch, and no store, before the call.
TEST(HostAllocatorAfterBatchNew, SetAfterABatchWasMadeIsRefused) {
  est_batch* batch = nullptr;
  ASSERT_EQ(est_batch_new(&batch), EST_OK);
  est_batch_free(batch);
  est_allocator a = EST_ALLOCATOR_INIT;
  a.allocate = CountingAllocate;
  a.deallocate = CountingDeallocate;
  EXPECT_EQ(est_set_allocator(&a), EST_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(counting.allocations, 0u);
}

}  // namespace
