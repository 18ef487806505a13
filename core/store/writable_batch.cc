// WritableBatch and BatchBuilder: the checked FlatBuffers WritableEventBatch
// that every Append takes. FromBytes distrusts its input completely (sizes are
// checked before FlatBuffers sees the bytes, which are copied to aligned memory
// before the verifier and the semantic checks run); BatchBuilder checks each
// input as it arrives, so what it builds needs no second verification.
// Neither class is thread-safe; a finished WritableBatch is immutable.
// Their buffers (a batch's copy, a builder's events and FlatBuffers) come
// from the host's allocator (core/util/host_allocator.h).
#include "core/store/writable_batch.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "core/id/id.h"
#include "core/util/host_allocator.h"
#include "core/util/status.h"
#include "flatbuffers/flatbuffers.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

constexpr size_t kBatchAlign = 8;

// The verifier's table budget implied by our limits: the batch, its events and
// their metadata entries. Depth: batch -> event -> key/value (update this if
// the schema ever nests deeper; unknown fields are not verified anyway).
constexpr flatbuffers::uoffset_t kMaxTables =
    static_cast<flatbuffers::uoffset_t>(1 + kMaxBatchEvents * (1 + kMaxMetadataPerEvent));
constexpr flatbuffers::uoffset_t kMaxDepth = 3;

// A rough upper bound of the FlatBuffers bytes an event adds beyond its
// strings and data, used to refuse a builder input before the batch could
// outgrow kMaxBatchBytes (FlatBuffers itself asserts at 2 GiB).
constexpr size_t kEventOverhead = 128;
constexpr size_t kMetadataOverhead = 48;

std::unique_ptr<uint8_t, WritableBatch::AlignedFree> AllocateAligned(size_t size) {
  return std::unique_ptr<uint8_t, WritableBatch::AlignedFree>(static_cast<uint8_t*>(HostAllocate(size, kBatchAlign)),
                                                              WritableBatch::AlignedFree{size});
}

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// A FlatBuffers string as a std::string_view; "" when absent.
std::string_view View(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : std::string_view(s->c_str(), s->size());
}

// FlatBuffers strings carry an explicit length, so a NUL inside one would
// silently cut the C view of it short.
bool FbStringHasNul(const flatbuffers::String* s) {
  return s != nullptr && std::strlen(s->c_str()) != s->size();
}

absl::Status EventError(size_t index, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("event ", index, ": ", ToAbsl(problem)));
}

absl::Status CheckEvent(const fb::WritableEvent& event, size_t index) {
  if (FbStringHasNul(event.type())) return EventError(index, "the event type contains NUL");
  absl::Status type_status = ValidateTypeName(View(event.type()), "event type");
  if (!type_status.ok()) return EventError(index, ToStd(type_status.message()));
  if (FbStringHasNul(event.content_type())) return EventError(index, "the content type contains NUL");
  if (event.timestamp_ns() < 0) return EventError(index, "timestamp_ns is negative");
  const auto* metadata = event.metadata();
  if (metadata == nullptr) return absl::OkStatus();
  if (metadata->size() > kMaxMetadataPerEvent) {
    return EventError(index, absl::StrCat("more than ", kMaxMetadataPerEvent, " metadata entries"));
  }
  std::string_view previous;
  for (flatbuffers::uoffset_t i = 0; i < metadata->size(); ++i) {
    const fb::KeyValue* kv = metadata->Get(i);
    std::string_view key = View(kv->key());
    if (key.empty()) return EventError(index, absl::StrCat("metadata key ", i, " is empty"));
    if (FbStringHasNul(kv->key())) return EventError(index, absl::StrCat("metadata key ", i, " contains NUL"));
    if (FbStringHasNul(kv->value())) {
      return EventError(index, absl::StrCat("the value of metadata key \"", ToAbsl(key), "\" contains NUL"));
    }
    // std::string_view compares bytes as unsigned char, which is the order
    // FlatBuffers' key lookup assumes.
    if (i > 0 && key <= previous) {
      return EventError(index, key == previous
                                   ? absl::StrCat("duplicate metadata key \"", ToAbsl(key), "\"")
                                   : absl::StrCat("metadata keys are not sorted at \"", ToAbsl(key), "\""));
    }
    previous = key;
  }
  return absl::OkStatus();
}

}  // namespace

void WritableBatch::AlignedFree::operator()(uint8_t* p) const { HostDeallocate(p, size, kBatchAlign); }

const fb::WritableEventBatch& WritableBatch::root() const {
  return *flatbuffers::GetRoot<fb::WritableEventBatch>(data_.get());
}

absl::StatusOr<WritableBatch> WritableBatch::FromBytes(absl::Span<const uint8_t> bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("the batch is empty (0 bytes)");
  if (bytes.size() > kMaxBatchBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the batch is ", bytes.size(), " bytes; the limit is ", kMaxBatchBytes));
  }
  if (bytes.size() < 2 * sizeof(flatbuffers::uoffset_t)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the batch is ", bytes.size(), " bytes, too small for a WritableEventBatch"));
  }
  std::unique_ptr<uint8_t, AlignedFree> data = AllocateAligned(bytes.size());
  if (data == nullptr) return absl::ResourceExhaustedError("out of memory copying the batch");
  std::memcpy(data.get(), bytes.data(), bytes.size());

  if (!fb::WritableEventBatchBufferHasIdentifier(data.get())) {
    return absl::InvalidArgumentError("the batch lacks the \"ESTB\" file identifier (not a WritableEventBatch)");
  }
  flatbuffers::Verifier::Options options;
  options.max_depth = kMaxDepth;
  options.max_tables = kMaxTables;
  options.check_alignment = true;
  flatbuffers::Verifier verifier(data.get(), bytes.size(), options);
  if (!fb::VerifyWritableEventBatchBuffer(verifier)) {
    return absl::InvalidArgumentError("the batch fails FlatBuffers verification (malformed WritableEventBatch)");
  }

  const auto* events = flatbuffers::GetRoot<fb::WritableEventBatch>(data.get())->events();
  if (events->size() == 0) return absl::InvalidArgumentError("the batch holds no events");
  if (events->size() > kMaxBatchEvents) {
    return absl::InvalidArgumentError(
        absl::StrCat("the batch holds ", events->size(), " events; the limit is ", kMaxBatchEvents));
  }
  for (flatbuffers::uoffset_t i = 0; i < events->size(); ++i) {
    RETURN_IF_ERROR(CheckEvent(*events->Get(i), i));
  }
  size_t count = events->size();
  return WritableBatch(std::move(data), bytes.size(), count);
}

// ---------------------------------------------------------------------------
// BatchBuilder

namespace {

// Where a pending string or data sits in Pending::bytes.
struct Slice {
  size_t offset = 0;
  size_t size = 0;
};

struct PendingPair {
  Slice key, value;
};

// An event as added: its strings and data in Pending::bytes, its metadata
// pairs the last `pair_count` of Pending::pairs up to the next event's.
struct PendingEvent {
  Slice type, data, content_type;
  size_t first_pair = 0;
  size_t pair_count = 0;
  std::optional<Uuid> id;
  int64_t timestamp_ns = 0;
};

}  // namespace

// Every string and byte of the pending events lives in one buffer, and every
// metadata pair in one vector, so that adding an event allocates nothing
// once the buffers have grown (a bulk append adds thousands).
struct BatchBuilder::Pending {
  HostVector<PendingEvent> events;
  HostVector<PendingPair> pairs;  // per event, contiguous and sorted by key (byte order)
  HostString bytes;
  size_t estimated_bytes = 0;  // a bound on the finished batch, kept below kMaxBatchBytes
  flatbuffers::FlatBufferBuilder fbb{1024, HostFlatbuffersAllocator()};
  bool built = false;  // fbb holds the batch of the current events

  Slice Keep(const void* p, size_t n) {
    Slice slice{bytes.size(), n};
    bytes.append(static_cast<const char*>(p), n);
    return slice;
  }
  std::string_view View(Slice slice) const { return std::string_view(bytes).substr(slice.offset, slice.size); }
};

BatchBuilder::BatchBuilder() : pending_(std::make_unique<Pending>()) {}
BatchBuilder::~BatchBuilder() = default;
BatchBuilder::BatchBuilder(BatchBuilder&&) noexcept = default;
BatchBuilder& BatchBuilder::operator=(BatchBuilder&&) noexcept = default;

// A moved-from builder is empty and usable again.
#define ESTORIA_ENSURE_PENDING_() \
  if (pending_ == nullptr) pending_ = std::make_unique<Pending>()

absl::Status BatchBuilder::Add(std::string_view type, absl::Span<const uint8_t> data,
                               std::string_view content_type) {
  ESTORIA_ENSURE_PENDING_();
  RETURN_IF_ERROR(ValidateTypeName(type, "event type"));
  if (HasNul(content_type)) return absl::InvalidArgumentError("the content type contains NUL");
  if (pending_->events.size() >= kMaxBatchEvents) {
    return absl::InvalidArgumentError(absl::StrCat("a batch holds at most ", kMaxBatchEvents, " events"));
  }
  size_t added = kEventOverhead + type.size() + data.size() + content_type.size();
  if (data.size() > kMaxBatchBytes || added > kMaxBatchBytes - pending_->estimated_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("the batch would exceed ", kMaxBatchBytes, " bytes"));
  }
  PendingEvent event;
  event.type = pending_->Keep(type.data(), type.size());
  event.data = pending_->Keep(data.data(), data.size());
  event.content_type = pending_->Keep(content_type.data(), content_type.size());
  event.first_pair = pending_->pairs.size();
  pending_->events.push_back(event);
  pending_->estimated_bytes += added;
  pending_->built = false;
  return absl::OkStatus();
}

absl::Status BatchBuilder::AddMetadata(std::string_view key, std::string_view value) {
  ESTORIA_ENSURE_PENDING_();
  if (pending_->events.empty()) return absl::InvalidArgumentError("metadata before any event");
  if (key.empty()) return absl::InvalidArgumentError("a metadata key is empty");
  if (HasNul(key)) return absl::InvalidArgumentError("a metadata key contains NUL");
  if (HasNul(value)) return absl::InvalidArgumentError("a metadata value contains NUL");
  PendingEvent& event = pending_->events.back();
  if (event.pair_count >= kMaxMetadataPerEvent) {
    return absl::InvalidArgumentError(absl::StrCat("an event holds at most ", kMaxMetadataPerEvent,
                                                   " metadata entries"));
  }
  // The event's pairs are the tail of `pairs`, kept sorted: find the key's
  // place. Keys added in order (the usual way) go last without a search.
  HostVector<PendingPair>& pairs = pending_->pairs;
  auto place = pairs.end();
  if (event.pair_count > 0 && !(pending_->View(pairs.back().key) < key)) {
    place = std::lower_bound(pairs.begin() + static_cast<ptrdiff_t>(event.first_pair), pairs.end(), key,
                             [&](const PendingPair& pair, std::string_view k) { return pending_->View(pair.key) < k; });
  }
  if (place != pairs.end() && pending_->View(place->key) == key) {
    return absl::InvalidArgumentError(absl::StrCat("duplicate metadata key \"", ToAbsl(key), "\""));
  }
  size_t added = kMetadataOverhead + key.size() + value.size();
  if (value.size() > kMaxBatchBytes || added > kMaxBatchBytes - pending_->estimated_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("the batch would exceed ", kMaxBatchBytes, " bytes"));
  }
  const ptrdiff_t at = place - pairs.begin();
  const PendingPair pair{pending_->Keep(key.data(), key.size()), pending_->Keep(value.data(), value.size())};
  pairs.insert(pairs.begin() + at, pair);
  ++event.pair_count;
  pending_->estimated_bytes += added;
  pending_->built = false;
  return absl::OkStatus();
}

absl::Status BatchBuilder::SetId(const Uuid& id) {
  ESTORIA_ENSURE_PENDING_();
  if (pending_->events.empty()) return absl::InvalidArgumentError("SetId before any event");
  pending_->events.back().id = id;
  pending_->built = false;
  return absl::OkStatus();
}

absl::Status BatchBuilder::SetTimestamp(int64_t timestamp_ns) {
  ESTORIA_ENSURE_PENDING_();
  if (pending_->events.empty()) return absl::InvalidArgumentError("SetTimestamp before any event");
  if (timestamp_ns <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("timestamp_ns must be > 0, got ", timestamp_ns));
  }
  pending_->events.back().timestamp_ns = timestamp_ns;
  pending_->built = false;
  return absl::OkStatus();
}

size_t BatchBuilder::event_count() const { return pending_ == nullptr ? 0 : pending_->events.size(); }

absl::StatusOr<absl::Span<const uint8_t>> BatchBuilder::Bytes() {
  ESTORIA_ENSURE_PENDING_();
  if (pending_->events.empty()) return absl::InvalidArgumentError("the batch holds no events");
  flatbuffers::FlatBufferBuilder& fbb = pending_->fbb;
  if (!pending_->built) {
    fbb.Clear();
    std::vector<flatbuffers::Offset<fb::WritableEvent>> events;
    events.reserve(pending_->events.size());
    std::vector<flatbuffers::Offset<fb::KeyValue>> metadata;
    // Read through a view of this builder, as EventBlock::Build reads one:
    // WritableBatch::event and ::metadata are the one reader of the pending
    // buffers.
    const WritableBatch view(this, pending_->events.size());
    for (size_t i = 0; i < view.event_count(); ++i) {
      const BatchEvent e = view.event(i);
      auto type = fbb.CreateString(e.type.data(), e.type.size());
      fbb.ForceVectorAlignment(e.data.size(), sizeof(uint8_t), 8);  // data is force_align: 8
      auto data = fbb.CreateVector(e.data.data(), e.data.size());
      auto content_type = fbb.CreateString(e.content_type.data(), e.content_type.size());
      flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::KeyValue>>> metadata_vector;
      if (e.metadata_count > 0) {
        metadata.clear();
        for (size_t j = 0; j < e.metadata_count; ++j) {  // already sorted
          const auto [key, value] = view.metadata(i, j);
          auto k = fbb.CreateString(key.data(), key.size());
          auto v = fbb.CreateString(value.data(), value.size());
          metadata.push_back(fb::CreateKeyValue(fbb, k, v));
        }
        metadata_vector = fbb.CreateVector(metadata);
      }
      fb::WritableEventBuilder event(fbb);
      event.add_type(type);
      event.add_data(data);
      event.add_content_type(content_type);
      if (!metadata_vector.IsNull()) event.add_metadata(metadata_vector);
      fb::Uuid id;
      if (e.id.has_value()) {
        id = fb::Uuid(e.id->Hi(), e.id->Lo());
        event.add_id(&id);
      }
      if (e.timestamp_ns > 0) event.add_timestamp_ns(e.timestamp_ns);
      events.push_back(event.Finish());
    }
    auto vector = fbb.CreateVector(events);
    fb::FinishWritableEventBatchBuffer(fbb, fb::CreateWritableEventBatch(fbb, vector));
    pending_->built = true;
  }
  if (fbb.GetSize() > kMaxBatchBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the batch is ", fbb.GetSize(), " bytes; the limit is ", kMaxBatchBytes));
  }
  return absl::Span<const uint8_t>(fbb.GetBufferPointer(), fbb.GetSize());
}

absl::StatusOr<WritableBatch> BatchBuilder::View() const {
  if (pending_ == nullptr || pending_->events.empty()) return absl::InvalidArgumentError("the batch holds no events");
  return WritableBatch(this, pending_->events.size());
}

absl::StatusOr<WritableBatch> BatchBuilder::Build() {
  absl::Span<const uint8_t> bytes;
  ASSIGN_OR_RETURN(bytes, Bytes());
  std::unique_ptr<uint8_t, WritableBatch::AlignedFree> data = AllocateAligned(bytes.size());
  if (data == nullptr) return absl::ResourceExhaustedError("out of memory copying the batch");
  std::memcpy(data.get(), bytes.data(), bytes.size());
  return WritableBatch(std::move(data), bytes.size(), pending_->events.size());
}

void BatchBuilder::Clear() {
  if (pending_ == nullptr) return;
  pending_->events.clear();
  pending_->pairs.clear();
  pending_->bytes.clear();
  pending_->estimated_bytes = 0;
  pending_->fbb.Clear();
  pending_->built = false;
}

// ---------------------------------------------------------------------------
// WritableBatch's events, from its bytes or from the builder it views

BatchEvent WritableBatch::event(size_t i) const {
  BatchEvent out;
  if (builder_ != nullptr) {
    const BatchBuilder::Pending& p = *builder_->pending_;
    const PendingEvent& e = p.events[i];
    out.type = p.View(e.type);
    out.data = absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.bytes.data()) + e.data.offset, e.data.size);
    out.content_type = p.View(e.content_type);
    out.metadata_count = e.pair_count;
    if (e.id.has_value() && !e.id->IsNil()) out.id = e.id;
    out.timestamp_ns = e.timestamp_ns;
    return out;
  }
  const fb::WritableEvent& e = *root().events()->Get(static_cast<flatbuffers::uoffset_t>(i));
  out.type = View(e.type());
  if (e.data() != nullptr) out.data = absl::Span<const uint8_t>(e.data()->data(), e.data()->size());
  out.content_type = View(e.content_type());
  out.metadata_count = e.metadata() == nullptr ? 0 : e.metadata()->size();
  if (const fb::Uuid* id = e.id(); id != nullptr && (id->hi() != 0 || id->lo() != 0)) {
    out.id = Uuid::FromHiLo(id->hi(), id->lo());
  }
  out.timestamp_ns = e.timestamp_ns();
  return out;
}

std::pair<std::string_view, std::string_view> WritableBatch::metadata(size_t i, size_t j) const {
  if (builder_ != nullptr) {
    const BatchBuilder::Pending& p = *builder_->pending_;
    const PendingPair& pair = p.pairs[p.events[i].first_pair + j];
    return {p.View(pair.key), p.View(pair.value)};
  }
  const fb::KeyValue* kv =
      root().events()->Get(static_cast<flatbuffers::uoffset_t>(i))->metadata()->Get(static_cast<flatbuffers::uoffset_t>(j));
  return {View(kv->key()), View(kv->value())};
}

void WritableBatch::CopyMetadata(size_t i, std::pair<std::string_view, std::string_view>* out) const {
  if (builder_ != nullptr) {
    const BatchBuilder::Pending& p = *builder_->pending_;
    const PendingEvent& e = p.events[i];
    const PendingPair* pair = p.pairs.data() + e.first_pair;
    for (size_t j = 0; j < e.pair_count; ++j) out[j] = {p.View(pair[j].key), p.View(pair[j].value)};
    return;
  }
  const auto* metadata = root().events()->Get(static_cast<flatbuffers::uoffset_t>(i))->metadata();
  if (metadata == nullptr) return;
  for (flatbuffers::uoffset_t j = 0; j < metadata->size(); ++j) {
    const fb::KeyValue* kv = metadata->Get(j);
    out[j] = {View(kv->key()), View(kv->value())};
  }
}

#undef ESTORIA_ENSURE_PENDING_

}  // namespace estoria::core
