#include "core/util/redact.h"

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"

namespace estoria::core {
namespace {

bool EndsAuthority(char c) {
  return c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' || c == '`' ||
         absl::ascii_isspace(static_cast<unsigned char>(c));
}

bool EndsValue(char c) {
  return c == '&' || c == '#' || c == '"' || c == '`' || absl::ascii_isspace(static_cast<unsigned char>(c));
}

// Where a setting's key may start: at the beginning, or after a separator of
// a URI query or of a libpq key=value string.
bool StartsKey(std::string_view text, size_t at) {
  if (at == 0) return true;
  const char c = text[at - 1];
  return c == '?' || c == '&' || c == '"' || c == '\'' || absl::ascii_isspace(static_cast<unsigned char>(c));
}

// The value of a setting that begins at `at`: [at, end). A libpq value in
// single quotes runs to the closing quote ('\'' escapes one).
size_t ValueEnd(std::string_view text, size_t at) {
  if (at < text.size() && text[at] == '\'') {
    size_t i = at + 1;
    while (i < text.size() && text[i] != '\'') i += text[i] == '\\' ? 2 : 1;
    return i < text.size() ? i + 1 : text.size();
  }
  size_t i = at;
  while (i < text.size() && !EndsValue(text[i])) ++i;
  return i;
}

// The span of each password value in `text`, in order; `visit` returns
// nothing. Userinfo passwords, then password= settings, scanned once each.
template <typename Visit>
void ForEachSecret(std::string_view text, Visit visit) {
  for (size_t scheme = text.find("://"); scheme != std::string_view::npos; scheme = text.find("://", scheme + 3)) {
    const size_t begin = scheme + 3;
    size_t end = begin;
    while (end < text.size() && !EndsAuthority(text[end])) ++end;
    const size_t at = text.rfind('@', end == 0 ? 0 : end - 1);
    if (at == std::string_view::npos || at < begin) continue;
    const size_t colon = text.find(':', begin);
    if (colon == std::string_view::npos || colon > at) continue;
    visit(colon + 1, at);
  }
  static constexpr std::string_view kKey = "password=";
  const std::string lower = absl::AsciiStrToLower(std::string(text));
  for (size_t key = lower.find(kKey); key != std::string::npos; key = lower.find(kKey, key + 1)) {
    if (!StartsKey(text, key)) continue;
    const size_t begin = key + kKey.size();
    visit(begin, ValueEnd(text, begin));
  }
}

}  // namespace

std::string RedactSecrets(std::string_view text) {
  // Collect the spans first, then rebuild once (they may be found out of order).
  std::string out;
  std::vector<std::pair<size_t, size_t>> spans;
  ForEachSecret(text, [&](size_t begin, size_t end) { spans.emplace_back(begin, end); });
  if (spans.empty()) return std::string(text);
  std::sort(spans.begin(), spans.end());
  size_t copied = 0;
  for (const auto& [begin, end] : spans) {
    if (begin < copied) continue;  // overlaps one already replaced
    out.append(text.substr(copied, begin - copied)).append(kRedacted);
    copied = end;
  }
  out.append(text.substr(copied));
  return out;
}

std::string UriPassword(std::string_view uri) {
  std::string found;
  bool done = false;
  ForEachSecret(uri, [&](size_t begin, size_t end) {
    if (done) return;
    found = std::string(uri.substr(begin, end - begin));
    done = true;
  });
  return found;
}

std::string RedactSecrets(std::string_view text, std::string_view secret) {
  std::string out = RedactSecrets(text);
  if (secret.empty()) return out;
  for (size_t at = out.find(secret); at != std::string::npos; at = out.find(secret, at + kRedacted.size())) {
    out.replace(at, secret.size(), kRedacted);
  }
  return out;
}

}  // namespace estoria::core
