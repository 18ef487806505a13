// The manifest: which segment files make up the log once compaction has
// rewritten part of it. Without a MANIFEST file the log is the plain
// segments 0000000001.log, 0000000002.log, ... With one, it is the
// manifest's compacted segments (c-GGGGGG-KKKKKK.log, of generation G, in
// order), then the plain segments numbered from its next_sequence on.
// Compaction publishes a new manifest (write MANIFEST.tmp, fsync, rename,
// fsync the directory) before it removes the files it replaced, so a crash
// at any point leaves one whole log: files the manifest does not reach are
// leftovers, removed by the next writer's open.
//
// Pure functions plus two small file operations through Env.
#ifndef ESTORIA_CORE_FILELOG_MANIFEST_H_
#define ESTORIA_CORE_FILELOG_MANIFEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/env/env.h"

namespace estoria::core::filelog {

inline constexpr char kManifestName[] = "MANIFEST";

struct Manifest {
  uint64_t generation = 0;            // 0: no compaction yet (no file)
  std::vector<std::string> segments;  // compacted segments, in log order
  uint64_t next_sequence = 1;         // the first plain segment after them
};

// "c-000003-000000.log": segment `index` of compaction `generation`.
std::string CompactedSegmentFileName(uint64_t generation, uint64_t index);
bool IsCompactedSegmentFileName(std::string_view name);

std::string EncodeManifest(const Manifest& manifest);
// kDataLoss naming what is wrong.
absl::StatusOr<Manifest> DecodeManifest(std::string_view text);

// The manifest of the store in `dir`; generation 0 and no segments when the
// store has none.
absl::StatusOr<Manifest> ReadManifest(Env* env, const std::string& dir);
absl::Status WriteManifest(Env* env, const std::string& dir, const Manifest& manifest);

// The log's segment files, in order, given the directory's file names.
struct SegmentPlan {
  std::vector<std::string> names;
  // For each: the sequence its header must carry (plain segments), or 0
  // (compacted ones, whose header carries the generation instead).
  std::vector<uint64_t> sequences;
  uint64_t next_sequence = 1;        // of the next plain segment to create
  std::vector<std::string> orphans;  // replaced or unpublished segment files
};
// kDataLoss when a segment the log needs is missing.
absl::StatusOr<SegmentPlan> PlanSegments(const std::vector<std::string>& dir_names, const Manifest& manifest,
                                         std::string_view dir);

}  // namespace estoria::core::filelog

#endif  // ESTORIA_CORE_FILELOG_MANIFEST_H_
