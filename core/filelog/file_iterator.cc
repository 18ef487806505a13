#include "core/filelog/file_iterator.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

// One Next reads at most about this much (always at least one record).
constexpr size_t kReadBudget = size_t{1} << 20;
// Neighbouring records closer than this are read together, gap included.
constexpr uint64_t kMaxGap = 4096;

class FileIterator final : public EventIterator {
 public:
  FileIterator(std::shared_ptr<const EntryArray<LogEntry>> array, size_t begin, size_t end, bool reverse,
               std::shared_ptr<const SegmentTable> segments, std::shared_ptr<const std::atomic<bool>> closed)
      : array_(std::move(array)),
        begin_(begin),
        end_(end),
        reverse_(reverse),
        segments_(std::move(segments)),
        closed_(std::move(closed)) {}

  absl::StatusOr<size_t> Next(absl::Span<EventView> out) override {
    if (closed_->load(std::memory_order_acquire)) return ClosedError();
    if (out.empty()) return absl::InvalidArgumentError("Next needs room for at least one event");
    const size_t n = std::min(out.size(), end_ - begin_);
    if (n == 0) return size_t{0};
    // Pick the entries of this call: in reading order, within the budget.
    picked_.clear();
    size_t bytes = 0;
    for (size_t i = 0; i < n; ++i) {
      const LogEntry& e = reverse_ ? (*array_)[end_ - 1 - i] : (*array_)[begin_ + i];
      if (i > 0 && bytes + e.size > kReadBudget) break;
      picked_.push_back(&e);
      bytes += (e.size + 7) & ~size_t{7};
    }
    // Runs of entries close together in one segment become one read; the
    // buffer holds every run back to back, each starting 8-byte aligned.
    runs_.clear();
    size_t buffer_size = 0;
    for (size_t i = 0; i < picked_.size();) {
      const LogEntry* first = picked_[i];
      uint64_t lo = first->offset, hi = first->offset + first->size;
      size_t j = i + 1;
      for (; j < picked_.size(); ++j) {
        const LogEntry* e = picked_[j];
        if (e->segment != first->segment) break;
        uint64_t new_lo = std::min(lo, e->offset), new_hi = std::max(hi, e->offset + e->size);
        if (new_hi - new_lo > (hi - lo) + e->size + kMaxGap) break;
        lo = new_lo;
        hi = new_hi;
      }
      runs_.push_back({i, j, first->segment, lo, hi, buffer_size});
      buffer_size += (hi - lo + 7) & ~uint64_t{7};
      i = j;
    }
    if (buffer_.size() < buffer_size / 8 + 1) buffer_.resize(buffer_size / 8 + 1);
    uint8_t* base = reinterpret_cast<uint8_t*>(buffer_.data());
    for (const Run& run : runs_) {
      if (run.segment >= segments_->size()) return absl::InternalError("an index entry names an unknown segment");
      const RandomAccessFile& file = *(*segments_)[run.segment];
      uint8_t* into = base + run.buffer_offset;
      const size_t len = run.hi - run.lo;
      absl::StatusOr<absl::Span<const uint8_t>> got = file.Read(run.lo, len, into);
      if (!got.ok()) return got.status();
      if (got->size() != len) {
        return absl::DataLossError(absl::StrCat("segment ", run.segment + 1, " offset ", run.lo, ": ", len,
                                                " bytes of records expected, ", got->size(), " read"));
      }
      if (got->data() != into) std::memcpy(into, got->data(), len);
      for (size_t k = run.first; k < run.last; ++k) {
        const LogEntry* e = picked_[k];
        out[k] = EventView{into + (e->offset - run.lo), e->size};
      }
    }
    if (reverse_) {
      end_ -= picked_.size();
    } else {
      begin_ += picked_.size();
    }
    return picked_.size();
  }

 private:
  struct Run {
    size_t first, last;  // picked_[first, last)
    uint32_t segment;
    uint64_t lo, hi;      // byte range in the segment
    size_t buffer_offset;
  };

  std::shared_ptr<const EntryArray<LogEntry>> array_;  // null when empty
  size_t begin_;
  size_t end_;
  const bool reverse_;
  std::shared_ptr<const SegmentTable> segments_;
  std::shared_ptr<const std::atomic<bool>> closed_;
  std::vector<const LogEntry*> picked_;
  std::vector<Run> runs_;
  std::vector<uint64_t> buffer_;  // 8-byte aligned storage for the records read
};

}  // namespace

std::unique_ptr<EventIterator> MakeFileIterator(std::shared_ptr<const EntryArray<LogEntry>> array, size_t begin,
                                                size_t end, bool reverse,
                                                std::shared_ptr<const SegmentTable> segments,
                                                std::shared_ptr<const std::atomic<bool>> closed) {
  if (begin >= end) {
    array = nullptr;
    begin = end = 0;
  }
  return std::make_unique<FileIterator>(std::move(array), begin, end, reverse, std::move(segments),
                                        std::move(closed));
}

}  // namespace estoria::core::filelog
