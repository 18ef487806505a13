// Versioned rebuilds: see rebuild.h.
#include "core/projection/rebuild.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/projection/projection_id.h"
#include "core/store/store_checks.h"
#include "core/store/writable_batch.h"
#include "core/util/status.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

constexpr std::string_view kRequested = "rebuildcreated";
constexpr std::string_view kCaughtUp = "caughtup";
constexpr std::string_view kPromoted = "promoted";
constexpr std::string_view kRetired = "previousretired";

// FNV-1a over `name` from `basis`: the stream's UUID is two of them. Fixed
// forever: the UUID names the stream in every store already written.
uint64_t Fnv1a(std::string_view name, uint64_t basis) {
  uint64_t h = basis;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

// The integer after "key": in the flat JSON objects this file writes; 0
// when absent.
int64_t JsonInt(std::string_view json, std::string_view key) {
  const std::string needle = absl::StrCat("\"", ToAbsl(key), "\":");
  const size_t at = json.find(needle);
  if (at == std::string_view::npos) return 0;
  const std::string digits(json.substr(at + needle.size(), 24));
  return std::strtoll(digits.c_str(), nullptr, 10);
}

// The string after "key": (unescaped), "" when absent.
std::string JsonText(std::string_view json, std::string_view key) {
  const std::string needle = absl::StrCat("\"", ToAbsl(key), "\":\"");
  size_t i = json.find(needle);
  if (i == std::string_view::npos) return {};
  std::string out;
  for (i += needle.size(); i < json.size() && json[i] != '"'; ++i) {
    if (json[i] == '\\' && i + 1 < json.size()) {
      ++i;
      if (json[i] == 'u' && i + 4 < json.size()) {
        out += static_cast<char>(std::strtol(std::string(json.substr(i + 1, 4)).c_str(), nullptr, 16));
        i += 4;
        continue;
      }
    }
    out += json[i];
  }
  return out;
}

absl::Status AppendHistory(EventStore& store, std::string_view name, const ProjectionHistory& history,
                           std::string_view type, std::string_view json) {
  BatchBuilder builder;
  RETURN_IF_ERROR(builder.Add(type, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(json.data()), json.size()),
                              "application/json"));
  ASSIGN_OR_RETURN(WritableBatch batch, builder.Build());
  AppendOptions options;
  options.expect = Expect::kVersion;
  options.expected_version = history.stream_version;
  absl::StatusOr<AppendResult> appended = store.Append(HistoryStream(name), batch, options, nullptr);
  if (!appended.ok()) {
    return Annotate(appended.status(), absl::StrCat("projection ", ToAbsl(name), ": recording ", ToAbsl(type), ": "));
  }
  return absl::OkStatus();
}

std::string Json(std::string_view name, int32_t version, std::string_view rest = {}) {
  return absl::StrCat("{\"name\":", JsonString(name), ",\"version\":", version, ToAbsl(rest), "}");
}

}  // namespace

Id HistoryStream(std::string_view name) {
  Id id;
  id.type = std::string(kHistoryStreamType);
  const uint64_t hi = Fnv1a(name, 0xcbf29ce484222325ULL);
  const uint64_t lo = Fnv1a(name, 0x84222325cbf29ce4ULL);
  for (int i = 0; i < 8; ++i) {
    id.uuid.bytes[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    id.uuid.bytes[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  id.uuid.bytes[6] = static_cast<uint8_t>((id.uuid.bytes[6] & 0x0f) | 0x80);  // version 8: custom
  id.uuid.bytes[8] = static_cast<uint8_t>((id.uuid.bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return id;
}

bool ProjectionHistory::IsRetired(int32_t version) const {
  return std::find(retired.begin(), retired.end(), version) != retired.end();
}

absl::StatusOr<ProjectionHistory> LoadHistory(EventStore& store, std::string_view name) {
  RETURN_IF_ERROR(CheckProjectionName(name));
  ProjectionHistory h;
  absl::StatusOr<std::unique_ptr<EventIterator>> it = store.ReadStream(HistoryStream(name), ReadOptions{});
  if (absl::IsNotFound(it.status())) return h;
  if (!it.ok()) return it.status();
  EventView views[64];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, (*it)->Next(absl::MakeSpan(views)));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) {
      const EventView& e = views[i];
      h.stream_version = e.version();
      const std::string_view json(reinterpret_cast<const char*>(e.data().data()), e.data().size());
      // A colliding name's events (the UUID is a hash) are not this one's.
      if (JsonText(json, "name") != name) continue;
      HistoryEvent ev;
      ev.type = std::string(e.type());
      ev.version = static_cast<int32_t>(JsonInt(json, "version"));
      ev.previous = static_cast<int32_t>(JsonInt(json, "previous"));
      ev.position = JsonInt(json, "position");
      ev.timestamp_ns = e.timestamp_ns();
      ev.reason = JsonText(json, "reason");
      if (ev.type == kRequested) {
        h.requested = ev.version;
        h.requested_caught_up = false;
      } else if (ev.type == kCaughtUp) {
        if (ev.version == h.requested) h.requested_caught_up = true;
      } else if (ev.type == kPromoted) {
        h.promoted = ev.version;
        if (h.requested == ev.version) {
          h.requested = 0;
          h.requested_caught_up = false;
        }
      } else if (ev.type == kRetired) {
        h.retired.push_back(ev.version);
      }
      h.events.push_back(std::move(ev));
    }
  }
  return h;
}

namespace {

absl::StatusOr<int32_t> ActiveOf(EventStore& store, std::string_view name, const ProjectionHistory& h) {
  if (h.promoted > 0) return h.promoted;
  ASSIGN_OR_RETURN(std::vector<Checkpoint> checkpoints, store.ListCheckpoints());
  int32_t lowest = 0;
  for (const Checkpoint& c : checkpoints) {
    absl::StatusOr<ProjectionId> id = ProjectionId::Parse(c.projection_id);
    if (!id.ok() || id->name != name || h.IsRetired(id->version) || id->version == h.requested) continue;
    if (lowest == 0 || id->version < lowest) lowest = id->version;
  }
  if (lowest == 0) return absl::NotFoundError(absl::StrCat("projection ", ToAbsl(name), " has no active version"));
  return lowest;
}

}  // namespace

absl::StatusOr<int32_t> ActiveVersion(EventStore& store, std::string_view name) {
  ASSIGN_OR_RETURN(ProjectionHistory h, LoadHistory(store, name));
  return ActiveOf(store, name, h);
}

absl::Status RequestRebuild(EventStore& store, std::string_view name, int32_t next_version, std::string_view reason) {
  RETURN_IF_ERROR((ProjectionId{std::string(name), next_version}.Validate()));
  ASSIGN_OR_RETURN(ProjectionHistory h, LoadHistory(store, name));
  if (h.requested == next_version) return absl::OkStatus();
  absl::StatusOr<int32_t> active = ActiveOf(store, name, h);
  if (!active.ok() && !absl::IsNotFound(active.status())) return active.status();
  const int32_t previous = active.ok() ? *active : 0;
  int32_t highest = std::max(previous, h.requested);
  for (int32_t r : h.retired) highest = std::max(highest, r);
  if (next_version <= highest) {
    return absl::InvalidArgumentError(absl::StrCat("projection ", ToAbsl(name), ": a rebuild's version must be above ",
                                                   highest, " (active, requested or retired), not ", next_version));
  }
  return AppendHistory(store, name, h, kRequested,
                       Json(name, next_version,
                            absl::StrCat(",\"previous\":", previous, ",\"reason\":", JsonString(reason))));
}

absl::Status RecordCaughtUp(EventStore& store, std::string_view name, int32_t version, int64_t position) {
  ASSIGN_OR_RETURN(ProjectionHistory h, LoadHistory(store, name));
  if (h.requested != version || h.requested_caught_up) return absl::OkStatus();
  absl::Status recorded =
      AppendHistory(store, name, h, kCaughtUp, Json(name, version, absl::StrCat(",\"position\":", position)));
  // A racing decision won: whatever it was, it is recorded; the next run
  // looks again.
  if (absl::IsAborted(recorded)) return absl::OkStatus();
  return recorded;
}

absl::Status Cutover(EventStore& store, std::string_view name, int32_t version) {
  RETURN_IF_ERROR((ProjectionId{std::string(name), version}.Validate()));
  ASSIGN_OR_RETURN(ProjectionHistory h, LoadHistory(store, name));
  int32_t previous = 0;
  if (h.promoted == version) {
    // Active already: finish a retirement a crash left undone.
    for (auto it = h.events.rbegin(); it != h.events.rend(); ++it) {
      if (it->type == kPromoted && it->version == version) {
        previous = it->previous;
        break;
      }
    }
    if (previous == 0 || h.IsRetired(previous)) return absl::OkStatus();
  } else {
    if (h.requested != version) {
      return absl::AbortedError(
          absl::StrCat("projection ", ToAbsl(name), ": no rebuild to version ", version, " is pending"));
    }
    if (!h.requested_caught_up) {
      return absl::AbortedError(absl::StrCat("projection ", ToAbsl(name), "_v", version,
                                             " has not caught up yet: run it until its report says caught_up"));
    }
    absl::StatusOr<int32_t> active = ActiveOf(store, name, h);
    if (!active.ok() && !absl::IsNotFound(active.status())) return active.status();
    previous = active.ok() ? *active : 0;
    RETURN_IF_ERROR(
        AppendHistory(store, name, h, kPromoted, Json(name, version, absl::StrCat(",\"previous\":", previous))));
    if (previous == 0) return absl::OkStatus();
    ASSIGN_OR_RETURN(h, LoadHistory(store, name));
  }
  const std::string old_id = ProjectionId{std::string(name), previous}.ToString();
  absl::Status deleted = store.DeleteCheckpoint(old_id);
  if (!deleted.ok() && !absl::IsNotFound(deleted)) return deleted;
  return AppendHistory(store, name, h, kRetired, Json(name, previous));
}

}  // namespace estoria::core
