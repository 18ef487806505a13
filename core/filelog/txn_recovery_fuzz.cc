// txn_recovery_fuzz: a libFuzzer target for the recovery of the file store's
// transaction frames (kind 7, FORMAT.md). Each input becomes the last
// segment of a real store directory (made once, on a MemEnv, with
// transactions over several streams, the same stream twice in one,
// transactions beside plain appends, truncations and a whole deletion, over
// several small segments); the store is opened and, when that succeeds,
// everything is read back (every stream both ways, the global order,
// snapshots, stats) and verified. After a successful open, an append, a
// close and a second open must succeed and keep that append: recovery must
// leave a store it can itself reopen. Never crash, leak or hang.
//
// Built only by tests/fuzz (ESTORIA_BUILD_FUZZ=ON, clang); scripts/fuzz.sh
// runs it. Beyond recovery_fuzz's checks: every transaction the store reads
// back is whole (each event's data names its transaction and size). With
// ESTORIA_FUZZ_WRITE_SEEDS=DIR the binary writes a seed corpus
// (the real segments of the store, whole and cut) into DIR and exits.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/env/env.h"
#include "core/env/mem_env.h"
#include "core/filelog/file_store.h"
#include "core/id/id.h"
#include "core/id/uuid.h"
#include "core/store/event_store.h"
#include "core/store/writable_batch.h"
#include "core/util/status.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

constexpr char kDir[] = "/fuzz";

[[noreturn]] void Die(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "txn_recovery_fuzz: %s: %s\n", what, status.ToString().c_str());
  std::abort();
}

// The seed store preallocates like a real one, so its segments end in zeros.
// Inputs are opened without the preallocating thread: it changes nothing in
// recovery, and starting it (it zeroes a 1 MiB buffer) would dominate each run.
FileStoreOptions Options(bool preallocate = false) {
  FileStoreOptions options;
  options.segment_bytes = 4 << 10;  // small segments: the seed holds several
  options.preallocate_bytes = preallocate ? 4 << 10 : 0;
  return options;
}

Id StreamAt(int i) {
  Id id;
  id.type = "fuzz";
  id.uuid = Uuid::FromHiLo(0x0000000000004000ull, 0x8000000000000000ull | static_cast<uint64_t>(i + 1));
  return id;
}

// The store directory that every input is planted in.
struct Seed {
  std::map<std::string, std::string> files;  // every file but the last segment
  std::vector<std::string> segments;         // names, in log order
  std::map<std::string, std::string> segment_bytes;
  std::string last_segment;                  // its name
};

void Must(const absl::Status& status, const char* what) {
  if (!status.ok()) Die(what, status);
}

void AppendEvents(EventStore& store, const Id& id, int n, int tag) {
  BatchBuilder builder;
  for (int i = 0; i < n; ++i) {
    std::string data = absl::StrCat("event ", tag, ".", i, " ", std::string(static_cast<size_t>(tag % 40), 'd'));
    Must(builder.Add("happened", AsBytes(data), i % 2 == 0 ? "text/plain" : ""), "Add");
    Must(builder.AddMetadata("k", absl::StrCat("v", tag)), "AddMetadata");
  }
  absl::StatusOr<WritableBatch> batch = builder.Build();
  if (!batch.ok()) Die("Build", batch.status());
  absl::StatusOr<AppendResult> r = store.Append(id, *batch, {}, nullptr);
  if (!r.ok()) Die("Append", r.status());
}

// Transactions tagged from here on come after the seed's deletions, which
// cut earlier ones in part on purpose.
int g_first_whole_tag = 0;

// One transaction: `streams` appends of 1-2 events; each event's data is
// "txn TAG N" (N: the transaction's events) so that a reader can tell a
// whole transaction from a part.
void AppendTxn(EventStore& store, std::initializer_list<int> streams, int tag) {
  std::vector<WritableBatch> batches;
  int total = 0;
  int k = 0;
  for (int s : streams) total += 1 + (s + k++) % 2;
  k = 0;
  for (int s : streams) {
    BatchBuilder builder;
    for (int i = 0; i < 1 + (s + k) % 2; ++i) {
      Must(builder.Add("moved", AsBytes(absl::StrCat("txn ", tag, " ", total)), ""), "Add");
    }
    ++k;
    absl::StatusOr<WritableBatch> batch = builder.Build();
    if (!batch.ok()) Die("Build", batch.status());
    batches.push_back(*std::move(batch));
  }
  std::vector<StreamAppend> appends;
  k = 0;
  for (int s : streams) appends.push_back(StreamAppend{StreamAt(s), &batches[static_cast<size_t>(k++)], {}});
  std::vector<AppendResult> results;
  Must(store.AppendMany(appends, &results), "AppendMany");
}

const Seed& GetSeed() {
  static const Seed* seed = [] {
    auto* s = new Seed();
    std::unique_ptr<Env> env = NewMemEnv();
    absl::StatusOr<std::shared_ptr<EventStore>> opened = OpenFileStore(env.get(), kDir, Options(/*preallocate=*/true));
    if (!opened.ok()) Die("creating the seed store", opened.status());
    EventStore& store = **opened;
    int tag = 0;
    for (int round = 0; round < 6; ++round) {
      AppendTxn(store, {0, 1, 2}, ++tag);
      AppendEvents(store, StreamAt(round % 3), 1 + round % 2, ++tag);
      AppendTxn(store, {2, 0, 2}, ++tag);  // the same stream twice
      if (round == 2) Must(store.DeleteStream(StreamAt(0), 3), "DeleteStream (truncate)");
      if (round == 3) {
        Must(store.DeleteStream(StreamAt(1), 0), "DeleteStream (whole)");
        g_first_whole_tag = tag + 1;
      }
    }
    // The last segment gets transactions of several sizes.
    AppendTxn(store, {1, 2}, ++tag);
    AppendTxn(store, {0, 1, 2, 0, 1}, ++tag);
    AppendEvents(store, StreamAt(1), 2, ++tag);
    AppendTxn(store, {2, 1}, ++tag);
    store.Close();
    opened = absl::UnknownError("closed");

    absl::StatusOr<std::vector<std::string>> names = env->ListDir(kDir);
    if (!names.ok()) Die("ListDir", names.status());
    for (const std::string& name : *names) {
      absl::StatusOr<std::string> bytes = env->ReadFileToString(absl::StrCat(kDir, "/", name));
      if (!bytes.ok()) continue;  // not a file
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0) {
        s->segments.push_back(name);
        s->segment_bytes[name] = *bytes;
      } else {
        s->files[name] = *bytes;
      }
    }
    if (s->segments.size() < 2) Die("the seed store", absl::InternalError("expected several segments"));
    s->last_segment = s->segments.back();  // ListDir is sorted, and so are segment names
    for (size_t i = 0; i + 1 < s->segments.size(); ++i) s->files[s->segments[i]] = s->segment_bytes[s->segments[i]];
    return s;
  }();
  return *seed;
}

absl::Status Write(Env& env, const std::string& path, std::string_view bytes) {
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, env.NewWritableFile(path));
  RETURN_IF_ERROR(f->Append(AsBytes(bytes)));
  return f->Close();
}

// Reads an iterator to its end, touching every field a reader would.
absl::Status Walk(absl::StatusOr<std::unique_ptr<EventIterator>> it, absl::flat_hash_set<Id>* streams) {
  if (!it.ok()) return it.status();
  EventView views[8];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, (*it)->Next(absl::MakeSpan(views)));
    if (n == 0) return absl::OkStatus();
    for (size_t i = 0; i < n; ++i) {
      const EventView& e = views[i];
      if (e.type().empty() || e.stream_type().empty()) {
        return absl::InternalError("an event view without its required fields");
      }
      if (streams != nullptr) {
        Id id;
        id.type = std::string(e.stream_type());
        id.uuid = e.stream_uuid();
        streams->insert(std::move(id));
      }
      size_t metadata_bytes = 0;
      e.ForEachMetadata([&](const char* key, const char* value) { metadata_bytes += std::strlen(key) + std::strlen(value); });
      volatile size_t sink = e.data().size() + metadata_bytes + e.content_type().size();
      (void)sink;
    }
  }
}

// Every transaction read by a global read that no deletion cut is whole:
// its events (data "txn TAG N") number N, however the planted last segment
// was damaged (recovery keeps or drops a transaction frame whole).
void CheckWholeTransactions(EventStore& store) {
  absl::StatusOr<std::unique_ptr<EventIterator>> it = store.ReadAll({});
  if (!it.ok()) return;
  std::map<std::string, std::pair<int, int>> seen;  // tag -> (events, claimed)
  EventView views[8];
  for (;;) {
    absl::StatusOr<size_t> n = (*it)->Next(absl::MakeSpan(views));
    if (!n.ok() || *n == 0) break;
    for (size_t i = 0; i < *n; ++i) {
      const std::string data(views[i].data().begin(), views[i].data().end());
      if (data.rfind("txn ", 0) != 0) continue;
      const size_t space = data.rfind(' ');
      if (std::atoi(data.c_str() + 4) < g_first_whole_tag) continue;
      auto& [count, claimed] = seen[data.substr(0, space)];
      ++count;
      claimed = std::atoi(data.c_str() + space + 1);
    }
  }
  for (const auto& [tag, entry] : seen) {
    if (entry.first != entry.second) Die("a transaction read back in part", absl::DataLossError(tag));
  }
}

void ReadEverything(EventStore& store) {
  absl::flat_hash_set<Id> streams;
  for (int i = 0; i < 3; ++i) streams.insert(StreamAt(i));
  // Errors are fine (a stream may be gone); crashes are not.
  (void)Walk(store.ReadAll({}), &streams);
  CheckWholeTransactions(store);
  for (const Id& id : streams) {
    (void)Walk(store.ReadStream(id, {}), nullptr);
    ReadOptions reverse;
    reverse.direction = Direction::kReverse;
    (void)Walk(store.ReadStream(id, reverse), nullptr);
    (void)store.ReadSnapshot(id, 0);
  }
  (void)store.Stats();
  VerifyReport report;
  (void)store.Verify([](uint64_t, uint64_t) {}, &report);
}

void RunOne(const uint8_t* data, size_t size) {
  const Seed& seed = GetSeed();
  std::unique_ptr<Env> env = NewMemEnv();
  Must(env->CreateDir(kDir), "CreateDir");
  // The index checkpoint is not planted: it trusts the frames it covers
  // without reading them again (FORMAT.md), so with it a mutated covered
  // frame would be served as it is; this target fuzzes the scan.
  for (const auto& [name, bytes] : seed.files) {
    if (name == "INDEX") continue;
    Must(Write(*env, absl::StrCat(kDir, "/", name), bytes), "Write");
  }
  const std::string last = absl::StrCat(kDir, "/", seed.last_segment);
  Must(Write(*env, last, std::string_view(reinterpret_cast<const char*>(data), size)), "Write");

  absl::StatusOr<std::shared_ptr<EventStore>> store = OpenFileStore(env.get(), kDir, Options());
  if (!store.ok()) return;  // refused: fine, as long as it did not crash
  ReadEverything(**store);

  // Recovery must leave a store that takes appends and reopens with them.
  const Id probe = StreamAt(7);
  absl::StatusOr<AppendResult> appended = (*store)->Append(probe, [] {
    BatchBuilder b;
    (void)b.Add("probe", AsBytes("after recovery"), "");
    return *b.Build();
  }(), {}, nullptr);
  (*store)->Close();
  store = absl::UnknownError("closed");
  if (!appended.ok()) return;  // a crafted stream tip or position may rightly refuse it

  store = OpenFileStore(env.get(), kDir, Options());
  if (!store.ok()) Die("reopening after a recovery and an append", store.status());
  absl::StatusOr<std::unique_ptr<EventIterator>> it = (*store)->ReadStream(probe, {});
  if (!it.ok()) Die("reading the probe back", it.status());
  EventView view;
  absl::StatusOr<size_t> n = (*it)->Next(absl::MakeSpan(&view, 1));
  if (!n.ok() || *n != 1 || view.position() != appended->first_position) {
    Die("the probe append", n.ok() ? absl::DataLossError("lost or moved across a reopen") : n.status());
  }
  it = absl::UnknownError("done");
  ReadEverything(**store);
  (*store)->Close();
}

void WriteSeeds(const char* dir) {
  const Seed& seed = GetSeed();
  int count = 0;
  auto put = [&](const std::string& name, std::string_view bytes) {
    std::string path = absl::StrCat(dir, "/", name);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
      std::perror(path.c_str());
      std::exit(1);
    }
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    ++count;
  };
  for (const std::string& name : seed.segments) {
    const std::string& bytes = seed.segment_bytes.at(name);
    put(absl::StrCat("whole-", name), bytes);
    size_t end = bytes.size();
    while (end > 0 && bytes[end - 1] == '\0') --end;
    put(absl::StrCat("data-", name), std::string_view(bytes).substr(0, end));
    put(absl::StrCat("torn-", name), std::string_view(bytes).substr(0, end > 20 ? end - 20 : end));
  }
  std::fprintf(stderr, "txn_recovery_fuzz: wrote %d seeds to %s\n", count, dir);
}

}  // namespace
}  // namespace estoria::core

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("ESTORIA_FUZZ_WRITE_SEEDS"); dir != nullptr && *dir != '\0') {
    estoria::core::WriteSeeds(dir);
    std::exit(0);
  }
  estoria::core::GetSeed();  // built once, before the first input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  estoria::core::RunOne(data, size);
  return 0;
}
