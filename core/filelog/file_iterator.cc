#include "core/filelog/file_iterator.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/filelog/log_format.h"
#include "core/store/compact_record.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

// Records are preceded by an 8-byte prefix: u32 size, u32 zero.
constexpr size_t kPrefixSize = 8;

uint32_t PrefixSize(const uint8_t* prefix) {
  uint32_t size;
  std::memcpy(&size, prefix, sizeof(size));
  return size;
}

absl::Status ShortRead(Location at, const char* what) {
  return absl::DataLossError(absl::StrCat("segment index ", at.segment, " offset ", at.offset, ": ", what));
}

// The record at `at` in a mapping. The index only holds locations of whole
// records, but a record found out of bounds (the files changed behind the
// store's back) is an error, never a read past the mapping.
inline bool MappedView(const SegmentView& segment, Location at, EventView* view) {
  if (segment.format == RecordFormat::kCompact) {
    if (segment.mapped_size < compact::kHeaderSize || at.offset > segment.mapped_size - compact::kHeaderSize) {
      return false;
    }
    const uint8_t* record = segment.mapped + at.offset;
    const size_t size = compact::Size(record);
    if (size > segment.mapped_size - at.offset) return false;
    if (compact::Load<uint32_t>(compact::Tail(record)) > at.offset) return false;  // its run header
    *view = EventView{record, size, RecordFormat::kCompact};
    return true;
  }
  if (at.offset < kPrefixSize || at.offset > segment.mapped_size) return false;
  const uint8_t* record = segment.mapped + at.offset;
  const uint32_t size = PrefixSize(record - kPrefixSize);
  if (size == 0 || size > segment.mapped_size - at.offset) return false;
  *view = EventView{record, size};
  return true;
}

// Reading is bound by memory latency (each record is a cache miss, and a
// page's worth of records defeats the hardware prefetcher): ask for the
// records a few ahead, whole. Into L2 only (prefetcht2): a record is about
// seven lines, and that many L1 prefetches in flight fill the L1's few miss
// buffers and stall the loads they were meant to help (measured: a global
// read of 10 M events went from 16 to 18.5 M events/s).
constexpr size_t kPrefetchAhead = 16;
constexpr size_t kPrefetchBytes = 448;         // a typical FlatBuffers record (about 400 bytes) whole
constexpr size_t kCompactPrefetchBytes = 256;  // a typical compact one (about 230 bytes)

// Where the record at `at` begins in its mapped segment (its prefix, for a
// FlatBuffers record) and the typical record's bytes there; false when it
// is not mapped.
struct RecordAhead {
  const SegmentView* segment;
  uint64_t from;
  size_t bytes;
};
inline bool FindAhead(const SegmentTable& table, Location at, RecordAhead* ahead) {
  if (at.segment >= table.size()) return false;
  const SegmentView& segment = table[at.segment];
  if (segment.mapped == nullptr || at.offset < kPrefixSize) return false;
  const bool compact = segment.format == RecordFormat::kCompact;
  *ahead = {&segment, compact ? at.offset : at.offset - kPrefixSize, compact ? kCompactPrefetchBytes : kPrefetchBytes};
  return true;
}

// Records in any order: each one's bytes from its start.
inline void Prefetch(const SegmentTable& table, Location at) {
  RecordAhead a;
  if (!FindAhead(table, at, &a)) return;
  for (size_t line = 0; line < a.bytes && a.from + line < a.segment->mapped_size; line += 64) {
    __builtin_prefetch(a.segment->mapped + a.from + line, 0, 1);
  }
}

// Records in the log's order, which lie back to back: from the line after
// the last one asked for, the typical record's worth of lines (a fixed
// number: no branch depends on where a record starts). Stepping from each
// record's own start asked for its first line twice and missed its last
// one (its metadata) for most records: a global read of 10 million events
// went from 10-14 to 14-20 million events/s. Not for a stream read: with
// its records in the cache (read again), this cost it about a tenth.
class SequentialPrefetcher {
 public:
  void Ahead(const SegmentTable& table, Location at) {
    RecordAhead a;
    if (!FindAhead(table, at, &a)) return;
    const bool follows = at.segment == segment_ && a.from >= from_ && a.from < until_;
    const uint64_t first = follows ? until_ : a.from & ~uint64_t{63};
    if (first + a.bytes > a.segment->mapped_size) return;  // the mapping's last records
    for (size_t line = 0; line < a.bytes; line += 64) __builtin_prefetch(a.segment->mapped + first + line, 0, 1);
    segment_ = at.segment;
    from_ = a.from;
    until_ = first + a.bytes;
  }

 private:
  uint32_t segment_ = ~uint32_t{0};
  uint64_t from_ = 0;   // the last record's first byte
  uint64_t until_ = 0;  // lines from from_'s up to here were asked for
};

absl::Status OutsideItsSegment(Location at) { return ShortRead(at, "the record is outside its segment"); }

absl::Status ReadExactly(const SegmentView& segment, uint64_t offset, size_t n, uint8_t* dest, Location at,
                         const char* what) {
  absl::StatusOr<absl::Span<const uint8_t>> got = segment.file->Read(offset, n, dest);
  if (!got.ok()) return got.status();
  if (got->size() != n) return ShortRead(at, what);
  if (got->data() != dest) std::memcpy(dest, got->data(), n);
  return absl::OkStatus();
}

// A compact record through the segment's reader: its run header, then the
// record pointed at the copy, so that the view reads as a mapped one does.
absl::StatusOr<size_t> ReadCompactRecordInto(const SegmentView& segment, Location at, ReadBuffer* into,
                                             size_t used_words, uint32_t* size) {
  uint64_t header[compact::kHeaderSize / 8];
  uint8_t* h = reinterpret_cast<uint8_t*>(header);
  RETURN_IF_ERROR(ReadExactly(segment, at.offset, compact::kHeaderSize, h, at, "the record is past the end of the file"));
  const size_t record_size = compact::Size(h);
  uint32_t run_back = 0;
  RETURN_IF_ERROR(ReadExactly(segment, at.offset + compact::kHeaderSize + compact::DataSize(h), sizeof(run_back),
                              reinterpret_cast<uint8_t*>(&run_back), at, "the record runs past the end of the file"));
  if (run_back > at.offset) return ShortRead(at, "the record's run header is before its segment");
  uint8_t fixed[compact::kRunHeaderFixed];
  RETURN_IF_ERROR(ReadExactly(segment, at.offset - run_back, sizeof(fixed), fixed, at, "the run header is cut short"));
  const size_t run_header = compact::RunHeaderSize(fixed[20]);
  const size_t words = (run_header + compact::Align8(record_size)) / 8;
  if (into->size() < used_words + words) into->resize(used_words + words);
  uint8_t* dest = reinterpret_cast<uint8_t*>(into->data() + used_words);
  RETURN_IF_ERROR(ReadExactly(segment, at.offset - run_back, run_header, dest, at, "the run header is cut short"));
  RETURN_IF_ERROR(ReadExactly(segment, at.offset, record_size, dest + run_header, at,
                              "the record runs past the end of the file"));
  compact::SetRunOffset(dest + run_header, static_cast<uint32_t>(run_header));
  *size = static_cast<uint32_t>(record_size);
  return used_words + run_header / 8;
}

// Reads the record at `at` through the segment's reader (no mapping) into
// `into`, which grows as needed; returns where the record starts in it, in
// words, and sets *next_word past what it used.
absl::StatusOr<size_t> ReadRecordInto(const SegmentView& segment, Location at, ReadBuffer* into,
                                      size_t used_words, uint32_t* size, size_t* next_word) {
  if (segment.format == RecordFormat::kCompact) {
    ASSIGN_OR_RETURN(size_t word, ReadCompactRecordInto(segment, at, into, used_words, size));
    *next_word = word + (*size + 7) / 8;
    return word;
  }
  uint64_t prefix_words[1];
  RETURN_IF_ERROR(ReadExactly(segment, at.offset - kPrefixSize, kPrefixSize, reinterpret_cast<uint8_t*>(prefix_words),
                              at, "the record's prefix is past the end of the file"));
  *size = PrefixSize(reinterpret_cast<const uint8_t*>(prefix_words));
  const size_t words = (*size + 7) / 8;
  if (into->size() < used_words + words) into->resize(used_words + words);
  uint8_t* dest = reinterpret_cast<uint8_t*>(into->data() + used_words);
  RETURN_IF_ERROR(ReadExactly(segment, at.offset, *size, dest, at, "the record runs past the end of the file"));
  *next_word = used_words + words;
  return used_words;
}

class FileIterator final : public EventIterator {
 public:
  FileIterator(std::shared_ptr<const EntryArray<Location>> array, size_t begin, size_t end, bool reverse,
               std::shared_ptr<const SegmentTable> segments, std::shared_ptr<const std::atomic<bool>> closed,
               RecordOrder order)
      : array_(std::move(array)),
        begin_(begin),
        end_(end),
        reverse_(reverse),
        order_(order),
        segments_(std::move(segments)),
        closed_(std::move(closed)) {}

  absl::StatusOr<size_t> Next(absl::Span<EventView> out) override {
    if (closed_->load(std::memory_order_acquire)) return ClosedError();
    if (out.empty()) return absl::InvalidArgumentError("Next needs room for at least one event");
    if (order_ == RecordOrder::kLog) {
      // A local: in a member, every store to `out` (whose size_t may alias
      // its fields, to the compiler) would reload it.
      SequentialPrefetcher sequential;
      return Fill(out, [&sequential](const SegmentTable& table, Location at) { sequential.Ahead(table, at); });
    }
    return Fill(out, [](const SegmentTable& table, Location at) { Prefetch(table, at); });
  }

 private:
  // One loop per way of prefetching: with a branch between them in one
  // loop, a stream read was 5-10% slower.
  template <typename PrefetchFn>
  absl::StatusOr<size_t> Fill(absl::Span<EventView> out, PrefetchFn&& prefetch) {
    const size_t n = std::min(out.size(), end_ - begin_);
    if (n == 0) return size_t{0};
    const Location* entries = array_->data();
    const SegmentTable& table = *segments_;
    size_t done = 0;
    size_t buffered_words = 0;
    std::vector<std::pair<size_t, size_t>> buffered;  // (out index, word offset) of records read into buffer_
    for (; done < n; ++done) {
      const Location at = reverse_ ? entries[end_ - 1 - done] : entries[begin_ + done];
      if (at.segment >= table.size()) return absl::InternalError("an index entry names an unknown segment");
      const SegmentView& segment = table[at.segment];
      // Ahead within the iterator's range, not this call's: the next call's
      // first records are fetched by now too.
      if (done + kPrefetchAhead < end_ - begin_) {
        prefetch(table, reverse_ ? entries[end_ - 1 - done - kPrefetchAhead] : entries[begin_ + done + kPrefetchAhead]);
      }
      if (segment.mapped != nullptr) {
        if (!MappedView(segment, at, &out[done])) return OutsideItsSegment(at);
        continue;
      }
      // No mapping: read it, within a budget per call (at least one record).
      if (buffered_words * 8 > kReadBudget) break;
      uint32_t size = 0;
      ASSIGN_OR_RETURN(size_t word, ReadRecordInto(segment, at, &buffer_, buffered_words, &size, &buffered_words));
      buffered.emplace_back(done, word);
      out[done].size = size;
      out[done].format = segment.format;
    }
    // The buffer may have moved while it grew: point the views at it last.
    for (const auto& [index, word] : buffered) out[index].bytes = reinterpret_cast<const uint8_t*>(buffer_.data() + word);
    if (reverse_) {
      end_ -= done;
    } else {
      begin_ += done;
    }
    return done;
  }

  // One Next reads at most about this much through pread (unmapped segments).
  static constexpr size_t kReadBudget = size_t{1} << 20;

  std::shared_ptr<const EntryArray<Location>> array_;  // null when empty
  size_t begin_;
  size_t end_;
  const bool reverse_;
  const RecordOrder order_;
  std::shared_ptr<const SegmentTable> segments_;
  std::shared_ptr<const std::atomic<bool>> closed_;
  ReadBuffer buffer_;  // 8-byte aligned storage for records read with pread
};

}  // namespace

absl::StatusOr<absl::Span<const uint8_t>> ReadFileBytes(const RandomAccessFile& file, uint64_t n,
                                                        ReadBuffer* buffer) {
  buffer->assign(n / 8 + 1, 0);
  uint8_t* into = reinterpret_cast<uint8_t*>(buffer->data());
  constexpr uint64_t kChunk = uint64_t{8} << 20;
  uint64_t at = 0;
  while (at < n) {
    const size_t want = static_cast<size_t>(std::min(kChunk, n - at));
    ASSIGN_OR_RETURN(absl::Span<const uint8_t> got, file.Read(at, want, into + at));
    if (got.empty()) break;  // the end of the file
    if (got.data() != into + at) std::memcpy(into + at, got.data(), got.size());
    at += got.size();
  }
  return absl::Span<const uint8_t>(into, at);
}

absl::StatusOr<absl::Span<const uint8_t>> SegmentBytes(const SegmentView& segment, uint64_t n,
                                                       ReadBuffer* buffer) {
  if (segment.mapped == nullptr) return ReadFileBytes(*segment.file, n, buffer);
  if (n > segment.mapped_size) return absl::InternalError("a segment's bytes past its mapping were asked for");
  return absl::Span<const uint8_t>(segment.mapped, n);
}

absl::StatusOr<SegmentView> ViewSegment(Env* env, const std::string& path, uint64_t bytes) {
  SegmentView view;
  // The header through a reader, not the mapping: a file shorter than a page
  // (a segment being created) must not be touched past its end.
  ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file, env->NewRandomAccessFile(path));
  uint64_t header_words[kSegmentHeaderSize / 8];
  ASSIGN_OR_RETURN(absl::Span<const uint8_t> header,
                   file->Read(0, kSegmentHeaderSize, reinterpret_cast<uint8_t*>(header_words)));
  view.format = SegmentRecordFormat(header);
  const uint64_t page_rounded = (bytes + 4095) & ~uint64_t{4095};
  absl::StatusOr<std::unique_ptr<MappedFile>> map = env->MapFile(path, page_rounded, /*writable=*/false);
  if (map.ok()) {
    view.map = std::move(*map);
    view.mapped = view.map->data();
    view.mapped_size = view.map->size();
    return view;
  }
  if (map.status().code() != absl::StatusCode::kUnimplemented) return map.status();
  view.file = std::move(file);
  return view;
}

absl::StatusOr<EventView> ReadRecord(const SegmentTable& table, Location at, ReadBuffer* scratch) {
  if (at.segment >= table.size()) return absl::InternalError("an index entry names an unknown segment");
  const SegmentView& segment = table[at.segment];
  if (segment.mapped != nullptr) {
    EventView view;
    if (!MappedView(segment, at, &view)) return OutsideItsSegment(at);
    return view;
  }
  uint32_t size = 0;
  size_t next = 0;
  ASSIGN_OR_RETURN(size_t word, ReadRecordInto(segment, at, scratch, 0, &size, &next));
  return EventView{reinterpret_cast<const uint8_t*>(scratch->data() + word), size, segment.format};
}

std::unique_ptr<EventIterator> MakeFileIterator(std::shared_ptr<const EntryArray<Location>> array, size_t begin,
                                                size_t end, bool reverse,
                                                std::shared_ptr<const SegmentTable> segments,
                                                std::shared_ptr<const std::atomic<bool>> closed, RecordOrder order) {
  if (begin >= end) {
    array = nullptr;
    begin = end = 0;
  }
  return std::make_unique<FileIterator>(std::move(array), begin, end, reverse, std::move(segments),
                                        std::move(closed), order);
}

}  // namespace estoria::core::filelog
