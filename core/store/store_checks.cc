#include "core/store/store_checks.h"

#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/util/status.h"

namespace estoria::core {

absl::Status CheckStreamId(const Id& id, std::string_view what) { return ValidateTypeName(id.type, what); }

absl::Status CheckAppendOptions(const AppendOptions& options) {
  switch (options.expect) {
    case Expect::kAny:
    case Expect::kNoStream:
    case Expect::kStreamExists:
      break;
    case Expect::kVersion:
      if (options.expected_version < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("expected_version must be >= 0, got ", options.expected_version));
      }
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown expectation ", static_cast<int>(options.expect)));
  }
  if (options.first_version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("first_version must be >= 0, got ", options.first_version));
  }
  if (!options.restore && options.first_version != 0) {
    return absl::InvalidArgumentError("first_version is only honoured with restore");
  }
  return absl::OkStatus();
}

absl::Status CheckReadOptions(const ReadOptions& options) {
  if (options.direction != Direction::kForward && options.direction != Direction::kReverse) {
    return absl::InvalidArgumentError(absl::StrCat("unknown direction ", static_cast<int>(options.direction)));
  }
  if (options.after_version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("after_version must be >= 0, got ", options.after_version));
  }
  if (options.count < 0) {
    return absl::InvalidArgumentError(absl::StrCat("count must be >= 0, got ", options.count));
  }
  return CheckUntilTimestamp(options.until_timestamp_ns);
}

absl::Status CheckReadAllOptions(const ReadAllOptions& options) {
  if (options.after_position < 0) {
    return absl::InvalidArgumentError(absl::StrCat("after_position must be >= 0, got ", options.after_position));
  }
  if (options.count < 0) {
    return absl::InvalidArgumentError(absl::StrCat("count must be >= 0, got ", options.count));
  }
  return CheckUntilTimestamp(options.until_timestamp_ns);
}

absl::Status CheckUntilTimestamp(int64_t until_timestamp_ns) {
  if (until_timestamp_ns < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("until_timestamp_ns must be >= 0 (0 = no bound), got ", until_timestamp_ns));
  }
  return absl::OkStatus();
}

absl::Status CheckDeleteVersion(int64_t to_version) {
  if (to_version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("to_version must be >= 0, got ", to_version));
  }
  return absl::OkStatus();
}

absl::Status CheckSnapshotWrite(int64_t version, int64_t timestamp_ns, std::string_view content_type) {
  if (version <= 0) return absl::InvalidArgumentError(absl::StrCat("snapshot version must be > 0, got ", version));
  if (timestamp_ns < 0) {
    return absl::InvalidArgumentError(absl::StrCat("timestamp_ns must be >= 0, got ", timestamp_ns));
  }
  if (content_type.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("the content type contains NUL");
  }
  return absl::OkStatus();
}

absl::Status CheckSnapshotMaxVersion(int64_t max_version) {
  if (max_version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_version must be >= 0, got ", max_version));
  }
  return absl::OkStatus();
}

absl::Status CheckPruneBounds(int64_t keep_last, int64_t min_version) {
  if (keep_last < 0) return absl::InvalidArgumentError(absl::StrCat("keep_last must be >= 0, got ", keep_last));
  if (min_version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("min_version must be >= 0, got ", min_version));
  }
  return absl::OkStatus();
}

absl::Status CheckProjectionName(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid projection name \"", ToAbsl(name), "\": ", ToAbsl(why)));
  };
  if (name.empty()) return absl::InvalidArgumentError("a projection name is required");
  if (name.size() > kMaxProjectionNameLen) {
    return bad(absl::StrCat("longer than ", kMaxProjectionNameLen, " characters"));
  }
  if (name.front() < 'a' || name.front() > 'z') return bad("it must start with a lowercase letter");
  if (name.back() == '_') return bad("it must not end with '_'");
  for (char c : name) {
    if ((c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_') {
      return bad("only lowercase letters, digits and '_' are allowed");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckProjectionId(std::string_view projection_id) {
  const size_t sep = projection_id.rfind("_v");
  if (sep == std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("invalid projection ID \"", ToAbsl(projection_id),
                                                   "\": the form is name_vN (for example orders_v1)"));
  }
  const std::string_view digits = projection_id.substr(sep + 2);
  int64_t version = 0;
  const bool canonical = !digits.empty() && digits.size() <= 18 && digits.front() != '0' &&
                         digits.find_first_not_of("0123456789") == std::string_view::npos &&
                         absl::SimpleAtoi(ToAbsl(digits), &version) && version >= 1;
  if (!canonical) {
    return absl::InvalidArgumentError(absl::StrCat("invalid projection ID \"", ToAbsl(projection_id),
                                                   "\": the version after \"_v\" must be a number >= 1 "
                                                   "without leading zeros"));
  }
  return CheckProjectionName(projection_id.substr(0, sep));
}

absl::StatusOr<std::string> MakeProjectionId(std::string_view name, int64_t version) {
  RETURN_IF_ERROR(CheckProjectionName(name));
  if (version < 1) return absl::InvalidArgumentError(absl::StrCat("projection version must be >= 1, got ", version));
  std::string id = absl::StrCat(ToAbsl(name), "_v", version);
  RETURN_IF_ERROR(CheckProjectionId(id));  // a version too long for the ID's form
  return id;
}

absl::Status CheckCheckpointPosition(int64_t position) {
  if (position < 0) {
    return absl::InvalidArgumentError(absl::StrCat("a checkpoint position must be >= 0, got ", position));
  }
  return absl::OkStatus();
}

absl::Status CheckCommitRequest(const CommitRequest& request) {
  for (const StreamAppend& append : request.appends) {
    RETURN_IF_ERROR(CheckStreamId(append.stream));
    RETURN_IF_ERROR(CheckAppendOptions(append.options));
  }
  for (const CheckpointSave& save : request.checkpoints) {
    RETURN_IF_ERROR(CheckProjectionId(save.projection_id));
    RETURN_IF_ERROR(CheckCheckpointPosition(save.position));
  }
  if (request.written != nullptr && request.appends.size() != 1) {
    return absl::InternalError("the written events are asked of a commit with exactly one append");
  }
  return absl::OkStatus();
}

size_t CountLimit(int64_t count) {
  return count == 0 ? std::numeric_limits<size_t>::max() : static_cast<size_t>(count);
}

absl::Status CheckExpectation(const AppendOptions& options, int64_t current) {
  if (options.expect == Expect::kNoStream && current != 0) return VersionMismatchError(0, current);
  if (options.expect == Expect::kStreamExists && current == 0) return StreamMustExistError();
  if (options.expect == Expect::kVersion && options.expected_version != current) {
    return VersionMismatchError(options.expected_version, current);
  }
  return absl::OkStatus();
}

absl::Status FirstVersionForAppend(const AppendOptions& options, bool exists, int64_t current,
                                   int64_t* first_version) {
  *first_version = current + 1;
  if (!options.restore || options.first_version == 0) return absl::OkStatus();
  if (!exists) {
    *first_version = options.first_version;
  } else if (options.first_version != current + 1) {
    return absl::InvalidArgumentError(absl::StrCat("first_version ", options.first_version,
                                                   " does not continue the stream (its version is ", current, ")"));
  }
  return absl::OkStatus();
}

absl::Status StreamNotFound(const Id& stream) {
  return absl::NotFoundError(absl::StrCat("stream ", stream.ToString(), " not found"));
}

absl::Status SnapshotNotFound(const Id& aggregate, int64_t max_version) {
  return absl::NotFoundError(max_version == 0 ? absl::StrCat("no snapshot of ", aggregate.ToString())
                                              : absl::StrCat("no snapshot of ", aggregate.ToString(),
                                                             " at or below version ", max_version));
}

absl::Status CheckpointNotFound(std::string_view projection_id) {
  return absl::NotFoundError(absl::StrCat("no checkpoint for projection ", ToAbsl(projection_id)));
}

}  // namespace estoria::core
