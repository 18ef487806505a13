// The parts of Env shared by every implementation: the whole-file helpers,
// the gathered write fallback and the errno-to-status mapping.
#include "core/env/env.h"

#include <cerrno>
#include <cstring>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "core/util/status.h"

namespace estoria::core {

absl::Status WritableFile::WriteAtV(uint64_t offset, absl::Span<const absl::Span<const uint8_t>> pieces) {
  for (absl::Span<const uint8_t> piece : pieces) {
    RETURN_IF_ERROR(WriteAt(offset, piece));
    offset += piece.size();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Env::ReadFileToString(std::string_view path) {
  ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file, NewRandomAccessFile(path));
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::string out;
  // The file may grow or shrink while read: read until a short read.
  size_t chunk = size > 0 ? static_cast<size_t>(size) : 4096;
  for (;;) {
    size_t have = out.size();
    out.resize(have + chunk);
    auto* scratch = reinterpret_cast<uint8_t*>(out.data() + have);
    ASSIGN_OR_RETURN(absl::Span<const uint8_t> got, file->Read(have, chunk, scratch));
    if (got.data() != scratch && !got.empty()) std::memmove(scratch, got.data(), got.size());
    out.resize(have + got.size());
    if (got.size() < chunk) break;
    chunk = 64 * 1024;
  }
  return out;
}

absl::StatusOr<std::unique_ptr<MappedFile>> Env::MapFile(std::string_view path, uint64_t, bool) {
  return absl::UnimplementedError(absl::StrCat("map ", ToAbsl(path), ": this Env cannot map files"));
}

absl::Status Env::WriteFileAtomically(std::string_view path, std::string_view contents) {
  const std::string tmp = absl::StrCat(ToAbsl(path), ".tmp");
  {
    ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, NewWritableFile(tmp));
    absl::Status status = file->Append(AsBytes(contents));
    if (status.ok()) status = file->Sync();
    absl::Status closed = file->Close();
    if (status.ok()) status = closed;
    if (!status.ok()) {
      DeleteFile(tmp).IgnoreError();
      return status;
    }
  }
  RETURN_IF_ERROR(Rename(tmp, path));
  return SyncDir(DirName(path));
}

absl::Status IoError(std::string_view op, std::string_view path, int error) {
  std::string message = absl::StrCat(ToAbsl(op), " ", ToAbsl(path), ": ", std::generic_category().message(error));
  if (error == ENOENT) return absl::NotFoundError(message);
  return absl::UnavailableError(message);
}

std::string CleanPath(std::string_view path) {
  const bool absolute = !path.empty() && path[0] == '/';
  std::string out = absolute ? "/" : "";
  size_t i = 0;
  while (i < path.size()) {
    size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(i, end - i);
    if (!part.empty() && part != ".") {
      if (!out.empty() && out.back() != '/') out.push_back('/');
      out.append(part);
    }
    i = end + 1;
  }
  return out.empty() ? "." : out;
}

std::string DirName(std::string_view path) {
  std::string clean = CleanPath(path);
  size_t slash = clean.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  clean.resize(slash);
  return clean;
}

}  // namespace estoria::core
