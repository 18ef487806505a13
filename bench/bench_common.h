// What the file store benchmarks (file_store_bench, file_read_bench) share:
// the stream IDs they write, the peers' events of the common shape
// (bench/event_shape.h), the few file and directory helpers both need, and
// the setup both record in the report's context.
//
// Header-only. PeerEvents builds its events once (a function-local static,
// safe to call from many threads); the rest holds no state.
#ifndef ESTORIA_BENCH_BENCH_COMMON_H_
#define ESTORIA_BENCH_BENCH_COMMON_H_

#include <sys/stat.h>
#include <sys/statfs.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "bench/event_shape.h"
#include "bench/peers/peer_event.h"
#include "benchmark/benchmark.h"

namespace estoria::bench {

// Every benchmark stream has this type; UUIDs come from StreamUuid.
inline constexpr char kStreamType[] = "account";

// f_type of tmpfs in statfs(2): fdatasync costs nothing there, and files
// are memory, so disk figures measured on it mean nothing.
inline constexpr long kTmpfsMagic = 0x01021994;

// The most events one PeerEvents call hands out (the benchmarks append at
// most 1,000 events per transaction).
inline constexpr int64_t kMaxPeerEvents = 1000;

// Stream n's UUID in text form: distinct per n, stable across runs (so a
// store built by an earlier run is read by the same names).
inline std::string StreamUuid(int n) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "0190f3c4-8d1e-7c3a-9b2f-%012x", n);
  return buf;
}

// Stream n's ID as the C ABI takes it: "account_<uuid>".
inline std::string StreamId(int n) { return std::string(kStreamType) + "_" + StreamUuid(n); }

// Stream n as the peers take it.
inline PeerStream PeerStreamOf(int n) { return PeerStream{kStreamType, StreamUuid(n)}; }

// The first `n` (<= kMaxPeerEvents) events of the common shape, for a peer's
// Append; built once, borrowed for the life of the program.
inline std::span<const PeerEvent> PeerEvents(int64_t n) {
  static const std::array<MetadataPair, 2> metadata = {MetadataPair{kMetaKey1, kMetaValue1},
                                                       MetadataPair{kMetaKey2, kMetaValue2}};
  static const std::vector<PeerEvent> events(
      kMaxPeerEvents, PeerEvent{kEventType, std::span<const uint8_t>(Payload()), kContentType, metadata});
  return std::span<const PeerEvent>(events).first(static_cast<size_t>(n));
}

// Size of the file at `path`, 0 when it does not exist.
inline int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// Removes `dir` and everything under it; missing is fine.
inline void RemoveDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// The file system type (statfs f_type) holding `path`, or -1.
inline long FsMagic(const std::string& path) {
  struct statfs sfs;
  return ::statfs(path.c_str(), &sfs) == 0 ? static_cast<long>(sfs.f_type) : -1;
}

// The directory under which a benchmark keeps its files:
// $ESTORIA_BENCH_DIR, else $TMPDIR, else /tmp.
inline std::string BenchBaseDir() {
  const char* base = std::getenv("ESTORIA_BENCH_DIR");
  if (base == nullptr || *base == '\0') base = std::getenv("TMPDIR");
  if (base == nullptr || *base == '\0') base = "/tmp";
  return base;
}

// Records in the report's context what bench/bench_report.py prints as the
// setup: the event shape, the directory `dir` and its file system type `magic`
// (from FsMagic).
inline void AddSetupContext(const std::string& dir, long magic) {
  char fs_type[32];
  std::snprintf(fs_type, sizeof fs_type, "0x%lx", magic);
  benchmark::AddCustomContext("event_shape", kEventShape);
  benchmark::AddCustomContext("bench_dir", dir);
  benchmark::AddCustomContext("bench_dir_fs_magic", fs_type);
}

}  // namespace estoria::bench

#endif  // ESTORIA_BENCH_BENCH_COMMON_H_
