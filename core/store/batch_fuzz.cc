// batch_fuzz: a libFuzzer target for the batches callers hand est_append as
// bytes. Each input goes to WritableBatch::FromBytes, which must refuse it
// cleanly or accept it; an accepted batch must then:
//  - be accepted event by event by BatchBuilder (the est_batch path), since
//    the two check the same rules, and the builder's view must hold the same
//    events, field by field and pair by pair;
//  - build stored records (EventBlock::Build, in both record formats) from
//    both forms that agree on every field but the fresh IDs, within the
//    size the block was allocated with; compact runs must pass the check
//    recovery applies to them (compact::CheckRun).
// Never crash, leak or hang.
//
// Built only by tests/fuzz (ESTORIA_BUILD_FUZZ=ON, clang); scripts/fuzz.sh
// runs it. With ESTORIA_FUZZ_WRITE_SEEDS=DIR the binary writes a seed corpus
// (batches made by BatchBuilder) into DIR and exits.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/env/env.h"
#include "core/id/id.h"
#include "core/store/compact_record.h"
#include "core/store/event_record.h"
#include "core/store/writable_batch.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

[[noreturn]] void Die(const char* what, const absl::Status& status = absl::OkStatus()) {
  std::fprintf(stderr, "batch_fuzz: %s %s\n", what, status.ToString().c_str());
  std::abort();
}

void Check(bool ok, const char* what) {
  if (!ok) Die(what);
}

std::vector<std::pair<std::string, std::string>> Metadata(const EventView& e) {
  std::vector<std::pair<std::string, std::string>> out;
  e.ForEachMetadata([&](const char* key, const char* value) { out.emplace_back(key, value); });
  return out;
}

// Every field of two stored records but the ID, which is fresh unless the
// batch set one.
void SameRecord(const EventView& a, const EventView& b, bool same_id) {
  Check(a.type() == b.type(), "records differ in type");
  Check(a.stream_type() == b.stream_type(), "records differ in stream type");
  Check(a.content_type() == b.content_type(), "records differ in content type");
  Check(a.timestamp_ns() == b.timestamp_ns(), "records differ in timestamp");
  Check(std::string_view(reinterpret_cast<const char*>(a.data().data()), a.data().size()) ==
            std::string_view(reinterpret_cast<const char*>(b.data().data()), b.data().size()),
        "records differ in data");
  Check(a.metadata_count() == b.metadata_count() && Metadata(a) == Metadata(b), "records differ in metadata");
  if (same_id) Check(a.id() == b.id(), "records differ in id");
}

// A compact block's runs, behind its header room, each as recovery checks it.
void CheckRuns(const EventBlock& block, size_t header_room, size_t records) {
  size_t at = header_room;
  size_t seen = 0;
  while (at < block.used_bytes()) {
    size_t size = 0;
    uint32_t count = 0;
    const absl::Status st =
        compact::CheckRun(absl::MakeConstSpan(block.data() + at, block.used_bytes() - at), &size, &count);
    if (!st.ok()) Die("a built run fails CheckRun", st);
    at += size;
    seen += count;
  }
  Check(at == block.used_bytes() && seen == records, "a block's runs do not fill it with its records");
}

void Run(const uint8_t* data, size_t size) {
  absl::StatusOr<WritableBatch> parsed = WritableBatch::FromBytes(absl::MakeConstSpan(data, size));
  if (!parsed.ok()) {
    if (parsed.status().code() != absl::StatusCode::kInvalidArgument) Die("a refusal that is not INVALID_ARGUMENT");
    return;
  }
  BatchBuilder builder;
  for (size_t i = 0; i < parsed->event_count(); ++i) {
    const BatchEvent e = parsed->event(i);
    absl::Status st = builder.Add(e.type, e.data, e.content_type);
    if (!st.ok()) Die("the builder refuses an event FromBytes accepted", st);
    // Added out of order on purpose: the builder sorts.
    for (size_t j = e.metadata_count; j-- > 0;) {
      const auto [key, value] = parsed->metadata(i, j);
      st = builder.AddMetadata(key, value);
      if (!st.ok()) Die("the builder refuses a metadata pair FromBytes accepted", st);
    }
    if (e.id.has_value() && !builder.SetId(*e.id).ok()) Die("SetId");
    if (e.timestamp_ns > 0 && !builder.SetTimestamp(e.timestamp_ns).ok()) Die("SetTimestamp");
  }
  absl::StatusOr<WritableBatch> view = builder.View();
  if (!view.ok()) Die("View", view.status());
  Check(view->event_count() == parsed->event_count(), "the view has another event count");
  for (size_t i = 0; i < parsed->event_count(); ++i) {
    const BatchEvent a = parsed->event(i);
    const BatchEvent b = view->event(i);
    Check(a.type == b.type && a.content_type == b.content_type && a.id == b.id && a.timestamp_ns == b.timestamp_ns,
          "the view's event differs");
    Check(std::string_view(reinterpret_cast<const char*>(a.data.data()), a.data.size()) ==
              std::string_view(reinterpret_cast<const char*>(b.data.data()), b.data.size()),
          "the view's data differs");
    Check(a.metadata_count == b.metadata_count, "the view's metadata count differs");
    std::vector<std::pair<std::string_view, std::string_view>> copied(a.metadata_count), copied_view(a.metadata_count);
    parsed->CopyMetadata(i, copied.data());
    view->CopyMetadata(i, copied_view.data());
    for (size_t j = 0; j < a.metadata_count; ++j) {
      Check(parsed->metadata(i, j) == view->metadata(i, j), "the view's metadata pair differs");
      Check(copied[j] == parsed->metadata(i, j) && copied_view[j] == copied[j], "CopyMetadata differs from metadata");
    }
  }

  Id stream;
  stream.type = "fuzz";
  stream.uuid = Uuid::FromHiLo(0x0190f3c48d1e7000, 0x8000000000000001);
  for (RecordFormat format : {RecordFormat::kFlatbuffers, RecordFormat::kCompact}) {
    for (bool keep : {false, true}) {
      const EventBlock::BuildOptions options{.keep_timestamps = keep,
                                             .now_ns = 1'700'000'000'000'000'000,
                                             .format = format,
                                             .header_room = 16};
      absl::StatusOr<std::shared_ptr<EventBlock>> from_bytes = EventBlock::Build(stream, *parsed, options);
      absl::StatusOr<std::shared_ptr<EventBlock>> from_view = EventBlock::Build(stream, *view, options);
      if (!from_bytes.ok()) Die("EventBlock::Build of the bytes", from_bytes.status());
      if (!from_view.ok()) Die("EventBlock::Build of the view", from_view.status());
      Check((*from_bytes)->size() == parsed->event_count() && (*from_view)->size() == parsed->event_count(),
            "a block with another event count");
      for (size_t i = 0; i < parsed->event_count(); ++i) {
        SameRecord((*from_bytes)->view(i), (*from_view)->view(i), keep && parsed->event(i).id.has_value());
      }
      if (format == RecordFormat::kCompact) CheckRuns(**from_bytes, options.header_room, parsed->event_count());
    }
  }
}

// Seeds: batches BatchBuilder makes, small and varied.
void WriteSeeds(const char* dir) {
  std::vector<std::vector<uint8_t>> seeds;
  auto add = [&](BatchBuilder& b) {
    absl::StatusOr<absl::Span<const uint8_t>> bytes = b.Bytes();
    if (!bytes.ok()) Die("seed", bytes.status());
    seeds.emplace_back(bytes->begin(), bytes->end());
  };
  BatchBuilder one;
  if (!one.Add("opened", AsBytes("{\"owner\":\"ann\"}"), "application/json").ok()) Die("seed");
  add(one);
  BatchBuilder many;
  for (int i = 0; i < 5; ++i) {
    if (!many.Add(i % 2 == 0 ? "deposited" : "withdrawn", AsBytes(std::string(i * 7, 'x')), i == 3 ? "" : "text/plain")
             .ok() ||
        !many.AddMetadata("correlation", "c-" + std::to_string(i)).ok() || !many.AddMetadata("actor", "u").ok()) {
      Die("seed");
    }
  }
  if (!many.SetId(Uuid::FromHiLo(0x0190f3c48d1e7000, 0x8000000000000002)).ok() || !many.SetTimestamp(42).ok()) {
    Die("seed");
  }
  add(many);
  for (size_t i = 0; i < seeds.size(); ++i) {
    const std::string path = std::string(dir) + "/seed-" + std::to_string(i);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr || std::fwrite(seeds[i].data(), 1, seeds[i].size(), f) != seeds[i].size()) Die("writing a seed");
    std::fclose(f);
  }
}

}  // namespace
}  // namespace estoria::core

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("ESTORIA_FUZZ_WRITE_SEEDS"); dir != nullptr) {
    estoria::core::WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  estoria::core::Run(data, size);
  return 0;
}
