#include "core/filelog/manifest.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/filelog/log_format.h"
#include "core/util/crc32c.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

constexpr char kFirstLine[] = "estoria manifest 1";

absl::Status Damaged(std::string_view what) {
  return absl::DataLossError(absl::StrCat("the manifest is damaged: ", ToAbsl(what)));
}

}  // namespace

std::string CompactedSegmentFileName(uint64_t generation, uint64_t index) {
  return absl::StrFormat("c-%06u-%06u.log", generation, index);
}

bool IsCompactedSegmentFileName(std::string_view name) {
  return absl::StartsWith(ToAbsl(name), "c-") && absl::EndsWith(ToAbsl(name), ".log");
}

std::string EncodeManifest(const Manifest& manifest) {
  std::string text = absl::StrCat(kFirstLine, "\ngeneration ", manifest.generation, "\nnext_sequence ",
                                  manifest.next_sequence, "\n");
  for (const std::string& name : manifest.segments) absl::StrAppend(&text, "segment ", name, "\n");
  absl::StrAppend(&text, "crc ", Crc32c(text.data(), text.size()), "\n");
  return text;
}

absl::StatusOr<Manifest> DecodeManifest(std::string_view text) {
  const size_t crc_at = text.rfind("crc ");
  if (crc_at == std::string_view::npos || text.empty() || text.back() != '\n') return Damaged("it is cut short");
  uint32_t crc = 0;
  if (!absl::SimpleAtoi(ToAbsl(text.substr(crc_at + 4, text.size() - crc_at - 5)), &crc) ||
      crc != Crc32c(text.data(), crc_at)) {
    return Damaged("its checksum does not match");
  }
  std::vector<absl::string_view> lines = absl::StrSplit(ToAbsl(text.substr(0, crc_at)), '\n', absl::SkipEmpty());
  if (lines.size() < 3 || lines[0] != kFirstLine) return Damaged("it does not begin as a manifest");
  Manifest manifest;
  if (!absl::ConsumePrefix(&lines[1], "generation ") || !absl::SimpleAtoi(lines[1], &manifest.generation) ||
      !absl::ConsumePrefix(&lines[2], "next_sequence ") || !absl::SimpleAtoi(lines[2], &manifest.next_sequence) ||
      manifest.next_sequence == 0) {
    return Damaged("its generation or next sequence is unreadable");
  }
  for (size_t i = 3; i < lines.size(); ++i) {
    absl::string_view name = lines[i];
    if (!absl::ConsumePrefix(&name, "segment ") || !IsCompactedSegmentFileName(ToStd(name))) {
      return Damaged(absl::StrCat("line ", i + 1, " is not a compacted segment"));
    }
    manifest.segments.emplace_back(name);
  }
  return manifest;
}

absl::StatusOr<Manifest> ReadManifest(Env* env, const std::string& dir) {
  absl::StatusOr<std::string> text = env->ReadFileToString(absl::StrCat(dir, "/", kManifestName));
  if (absl::IsNotFound(text.status())) return Manifest{};
  if (!text.ok()) return text.status();
  absl::StatusOr<Manifest> manifest = DecodeManifest(*text);
  if (!manifest.ok()) return absl::DataLossError(absl::StrCat(dir, "/", kManifestName, ": ", manifest.status().message()));
  return manifest;
}

absl::Status WriteManifest(Env* env, const std::string& dir, const Manifest& manifest) {
  return env->WriteFileAtomically(absl::StrCat(dir, "/", kManifestName), EncodeManifest(manifest));
}

absl::StatusOr<SegmentPlan> PlanSegments(const std::vector<std::string>& dir_names, const Manifest& manifest,
                                         std::string_view dir) {
  SegmentPlan plan;
  const std::set<std::string> listed(manifest.segments.begin(), manifest.segments.end());
  std::set<std::string> present;
  std::vector<uint64_t> plain;
  for (const std::string& name : dir_names) {
    uint64_t sequence;
    if (ParseSegmentFileName(name, &sequence)) {
      if (sequence < manifest.next_sequence) {
        plan.orphans.push_back(name);  // compacted into the manifest's segments
      } else {
        plain.push_back(sequence);
      }
    } else if (IsCompactedSegmentFileName(name)) {
      if (listed.count(name) == 0) {
        plan.orphans.push_back(name);  // of a compaction that never published
      } else {
        present.insert(name);
      }
    }
  }
  for (const std::string& name : manifest.segments) {
    if (present.count(name) == 0) {
      return absl::DataLossError(absl::StrCat("the store in ", ToAbsl(dir), " lacks segment ", name));
    }
    plan.names.push_back(name);
    plan.sequences.push_back(0);
  }
  std::sort(plain.begin(), plain.end());
  for (size_t i = 0; i < plain.size(); ++i) {
    const uint64_t expected = manifest.next_sequence + i;
    if (plain[i] != expected) {
      return absl::DataLossError(
          absl::StrCat("the store in ", ToAbsl(dir), " lacks segment ", SegmentFileName(expected)));
    }
    plan.names.push_back(SegmentFileName(plain[i]));
    plan.sequences.push_back(plain[i]);
  }
  plan.next_sequence = manifest.next_sequence + plain.size();
  return plan;
}

}  // namespace estoria::core::filelog
