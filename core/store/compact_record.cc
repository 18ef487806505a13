// CheckRun: what a store checks of compact records it reads back from
// storage before it trusts them (see compact_record.h for the layout).
#include "core/store/compact_record.h"

#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/id/id.h"

namespace estoria::core::compact {
namespace {

absl::Status Bad(absl::string_view what) { return absl::DataLossError(absl::StrCat("compact record run: ", what)); }

// The NUL-terminated string at [p, end): its size, or -1 when no NUL ends it.
int64_t StringAt(const uint8_t* p, const uint8_t* end) {
  const void* nul = std::memchr(p, 0, static_cast<size_t>(end - p));
  return nul == nullptr ? -1 : static_cast<const uint8_t*>(nul) - p;
}

bool ZeroBytes(const uint8_t* p, const uint8_t* end) {
  for (; p < end; ++p) {
    if (*p != 0) return false;
  }
  return true;
}

absl::Status CheckTail(const uint8_t* tail, const uint8_t* end, size_t metadata_count, size_t type_size) {
  const uint8_t* p = tail + kTailFixed;
  const int64_t type = StringAt(p, end);
  if (type < 0 || static_cast<size_t>(type) != type_size) return Bad("the event type's size does not match its text");
  if (absl::Status st = ValidateTypeName(std::string_view(reinterpret_cast<const char*>(p), type_size), "event type");
      !st.ok()) {
    return Bad(st.message());
  }
  p += type_size + 1;
  const int64_t content_type = StringAt(p, end);
  if (content_type < 0) return Bad("the content type is not NUL-terminated");
  p += content_type + 1;
  std::string_view previous;
  for (size_t i = 0; i < metadata_count; ++i) {
    const int64_t key = StringAt(p, end);
    if (key <= 0) return Bad("a metadata key is empty or not NUL-terminated");
    const std::string_view k(reinterpret_cast<const char*>(p), static_cast<size_t>(key));
    if (i > 0 && k <= previous) return Bad("metadata keys are not sorted and unique");
    previous = k;
    p += key + 1;
    const int64_t value = StringAt(p, end);
    if (value < 0) return Bad("a metadata value is not NUL-terminated");
    p += value + 1;
  }
  if (p != end) return Bad("the tail holds more than its strings");
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckRun(absl::Span<const uint8_t> bytes, size_t* size, uint32_t* count) {
  *size = 0;
  *count = 0;
  const uint8_t* const base = bytes.data();
  const uint8_t* const end = base + bytes.size();
  if (bytes.size() < kRunHeaderFixed + 2) return Bad("shorter than a run header");
  const uint32_t records = Load<uint32_t>(base + 16);
  const size_t type_size = base[20];
  if (records == 0) return Bad("a run of no records");
  const size_t header = RunHeaderSize(type_size);
  if (header > bytes.size()) return Bad("the stream type runs past the bytes");
  const uint8_t* type = base + kRunHeaderFixed;
  if (StringAt(type, base + header) != static_cast<int64_t>(type_size)) {
    return Bad("the stream type's size does not match its text");
  }
  if (absl::Status st = ValidateTypeName(std::string_view(reinterpret_cast<const char*>(type), type_size),
                                         "stream type");
      !st.ok()) {
    return Bad(st.message());
  }
  if (!ZeroBytes(type + type_size + 1, base + header)) return Bad("the run header's padding is not zero");
  const uint8_t* r = base + header;
  for (uint32_t i = 0; i < records; ++i) {
    if (static_cast<size_t>(end - r) < kHeaderSize) return Bad(absl::StrCat("record ", i, " runs past the bytes"));
    const size_t data = DataSize(r);
    const size_t tail = TailSize(r);
    const size_t left = static_cast<size_t>(end - r) - kHeaderSize;
    if (data > left || tail > left - data || tail < kTailFixed + 3) {
      return Bad(absl::StrCat("record ", i, "'s sizes run past the bytes"));
    }
    const uint8_t* t = r + kHeaderSize + data;
    if (Load<uint32_t>(t) != static_cast<uint32_t>(r - base)) {
      return Bad(absl::StrCat("record ", i, " does not point back to its run header"));
    }
    if (absl::Status st = CheckTail(t, t + tail, Load<uint16_t>(t + 4), t[6]); !st.ok()) {
      return Bad(absl::StrCat("record ", i, ": ", st.message()));
    }
    const size_t span = Align8(kHeaderSize + data + tail);
    if (span > static_cast<size_t>(end - r)) return Bad(absl::StrCat("record ", i, "'s padding runs past the bytes"));
    if (!ZeroBytes(t + tail, r + span)) return Bad(absl::StrCat("record ", i, "'s padding is not zero"));
    r += span;
  }
  *size = static_cast<size_t>(r - base);
  *count = records;
  return absl::OkStatus();
}

}  // namespace estoria::core::compact
