// PlanAppends: see append_plan.h. The transaction's own earlier appends are
// kept in an overlay per stream, so that a later append of the same stream
// sees them (its expectation, its duplicate window) exactly as if they had
// been stored already.
#include "core/store/append_plan.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/store/store_checks.h"
#include "core/util/status.h"

namespace estoria::core {
namespace {

// Events this transaction plans to write to one stream, versions
// first_version .. first_version + ids.size() - 1.
struct PlannedRun {
  int64_t first_version = 0;
  int64_t first_position = 0;
  absl::Span<const Uuid> ids;
};

struct Overlay {
  StreamLookup::State base;
  StreamLookup::State now;
  std::vector<PlannedRun> runs;
};

// The lookup as the transaction sees it: the store plus what it plans.
class PlannedLookup {
 public:
  explicit PlannedLookup(StreamLookup& store) : store_(store) {}

  Overlay& Of(const Id& stream) {
    auto [it, inserted] = overlays_.try_emplace(stream);
    if (inserted) it->second.base = it->second.now = store_.StateOf(stream);
    return it->second;
  }

  absl::StatusOr<StreamLookup::Stored> EventAt(const Id& stream, Overlay& o, int64_t version) {
    if (version <= o.base.tip) return store_.EventAt(stream, version);
    for (const PlannedRun& run : o.runs) {
      const int64_t k = version - run.first_version;
      if (k >= 0 && k < static_cast<int64_t>(run.ids.size())) {
        return StreamLookup::Stored{run.ids[static_cast<size_t>(k)], run.first_position + k};
      }
    }
    return absl::InternalError(absl::StrCat("append plan: version ", version, " of ", stream.ToString(),
                                            " is neither stored nor planned"));
  }

 private:
  StreamLookup& store_;
  absl::flat_hash_map<Id, Overlay> overlays_;
};

// The expected version a mismatch reports.
int64_t ReportedExpectation(const AppendOptions& options, int64_t tip) {
  switch (options.expect) {
    case Expect::kVersion:
      return options.expected_version;
    case Expect::kAny:
      return tip;
    case Expect::kNoStream:
    case Expect::kStreamExists:
      return 0;
  }
  return 0;
}

enum class Found { kNone, kAll, kSome };

// Compares the batch's IDs with the stream's live events after version
// `after` (the window), pairwise. A shifted overlap (a retry with events
// added or removed in front) counts as some: it has the batch's first ID in
// the window or the window's first ID in the batch.
absl::StatusOr<Found> CompareWindow(PlannedLookup& lookup, const Id& stream, Overlay& o, int64_t after,
                                    absl::Span<const Uuid> ids) {
  const int64_t n = static_cast<int64_t>(ids.size());
  const int64_t lo = std::max(after + 1, o.now.first_live);
  const int64_t hi = std::min(after + n, o.now.tip);
  if (lo > hi) return Found::kNone;  // no window: nothing of the stream is there
  int64_t matches = 0;
  bool overlap = false;  // the batch's first ID in the window, or the window's first in the batch
  for (int64_t v = lo; v <= hi; ++v) {
    StreamLookup::Stored stored;
    ASSIGN_OR_RETURN(stored, lookup.EventAt(stream, o, v));
    if (stored.id == ids[static_cast<size_t>(v - after - 1)]) ++matches;
    if (stored.id == ids[0]) overlap = true;
    if (v == lo && !overlap) {
      for (const Uuid& id : ids) {
        if (id == stored.id) {
          overlap = true;
          break;
        }
      }
    }
  }
  if (matches == n) return Found::kAll;
  if (matches > 0 || overlap) return Found::kSome;
  return Found::kNone;
}

// The version after which the batch would sit if it were already there.
int64_t WindowStart(const AppendOptions& options, int64_t tip, int64_t n) {
  switch (options.expect) {
    case Expect::kVersion:
      return options.expected_version;
    case Expect::kNoStream:
      return 0;
    case Expect::kAny:
    case Expect::kStreamExists:
      return tip - n;
  }
  return tip;
}

}  // namespace

bool BatchHasCallerIds(const WritableBatch& batch) {
  for (size_t i = 0; i < batch.event_count(); ++i) {
    if (!batch.event(i).id.has_value()) return false;
  }
  return batch.event_count() > 0;
}

std::vector<EventBlock::Part> BlockParts(absl::Span<const StreamAppend> appends) {
  std::vector<EventBlock::Part> parts(appends.size());
  for (size_t i = 0; i < appends.size(); ++i) {
    parts[i] = EventBlock::Part{&appends[i].stream, appends[i].batch, appends[i].options.restore};
  }
  return parts;
}

std::vector<PlanInput> PlanInputsFor(absl::Span<const StreamAppend> appends, absl::Span<const Uuid> ids) {
  std::vector<PlanInput> inputs(appends.size());
  size_t first_record = 0;
  for (size_t i = 0; i < appends.size(); ++i) {
    const size_t n = appends[i].batch->event_count();
    inputs[i] = PlanInput{&appends[i].stream, &appends[i].options, ids.subspan(first_record, n),
                          BatchHasCallerIds(*appends[i].batch)};
    first_record += n;
  }
  return inputs;
}

absl::Status PlanAppends(absl::Span<const PlanInput> inputs, StreamLookup& lookup, int64_t next_position,
                         const PlanLimits& limits, std::vector<AppendResult>* results) {
  results->assign(inputs.size(), AppendResult{});
  PlannedLookup planned(lookup);
  int64_t position = next_position;
  auto fail = [&](size_t index, const absl::Status& status) {
    // Nothing is written: every result reports its stream's version as stored.
    for (size_t i = 0; i < inputs.size(); ++i) {
      (*results)[i] = AppendResult{};
      (*results)[i].actual_version = planned.Of(*inputs[i].stream).base.tip;
    }
    if (inputs.size() == 1) return status;
    return Annotate(status, absl::StrCat("append ", index, " to stream ", inputs[index].stream->ToString(), ": "));
  };

  for (size_t i = 0; i < inputs.size(); ++i) {
    const PlanInput& in = inputs[i];
    const AppendOptions& options = *in.options;
    const Id& stream = *in.stream;
    const int64_t n = static_cast<int64_t>(in.ids.size());
    if (n == 0) return fail(i, absl::InvalidArgumentError("an append needs at least one event"));
    Overlay& o = planned.Of(stream);
    const int64_t tip = o.now.tip;
    AppendResult& result = (*results)[i];

    if (in.caller_ids && tip > 0) {
      const int64_t after = WindowStart(options, tip, n);
      absl::StatusOr<Found> found = CompareWindow(planned, stream, o, after, in.ids);
      if (!found.ok()) return fail(i, found.status());
      if (*found == Found::kAll) {
        StreamLookup::Stored first, last;
        absl::StatusOr<StreamLookup::Stored> got = planned.EventAt(stream, o, after + 1);
        if (!got.ok()) return fail(i, got.status());
        first = *got;
        got = planned.EventAt(stream, o, after + n);
        if (!got.ok()) return fail(i, got.status());
        last = *got;
        result.duplicate = true;
        result.first_version = after + 1;
        result.last_version = after + n;
        result.first_position = first.position;
        result.last_position = last.position;
        continue;
      }
      if (*found == Found::kSome) {
        return fail(i, Annotate(VersionMismatchError(ReportedExpectation(options, tip), tip),
                                "some but not all of the batch's event IDs are in the stream at the expected "
                                "place: "));
      }
    }

    if (absl::Status s = CheckExpectation(options, tip); !s.ok()) return fail(i, s);
    int64_t first_version = 0;
    if (absl::Status s = FirstVersionForAppend(options, tip > 0, tip, &first_version); !s.ok()) return fail(i, s);
    if (first_version > limits.max_version - n || position > limits.max_position - n) {
      return fail(i, absl::InvalidArgumentError("the append would overflow versions or positions"));
    }
    if (o.now.tip == 0) o.now.first_live = first_version;
    o.runs.push_back(PlannedRun{first_version, position, in.ids});
    o.now.tip = first_version + n - 1;
    result.first_version = first_version;
    result.last_version = o.now.tip;
    result.first_position = position;
    result.last_position = position + n - 1;
    position += n;
  }
  // Each result reports its stream's version after the whole transaction.
  for (size_t i = 0; i < inputs.size(); ++i) {
    (*results)[i].actual_version = planned.Of(*inputs[i].stream).now.tip;
  }
  return absl::OkStatus();
}

}  // namespace estoria::core
