// Secrets out of text meant for people: error messages, log lines, a tool's
// output. A PostgreSQL URI may carry a password (postgresql://alice:SECRET@host
// or ?password=SECRET), and libpq echoes parts of a connection string in its
// errors; nothing the library or `est` prints may repeat it.
// Thread safety: pure functions.
#ifndef ESTORIA_CORE_UTIL_REDACT_H_
#define ESTORIA_CORE_UTIL_REDACT_H_

#include <string>
#include <string_view>

namespace estoria::core {

inline constexpr std::string_view kRedacted = "***";

// `text` with the password of every URI's userinfo ("scheme://user:***@")
// and the value of every password setting ("password=***", in a URI query or
// a libpq key=value string, quoted or not) replaced by kRedacted.
std::string RedactSecrets(std::string_view text);

// The password `uri` carries (its userinfo's, else its first password=
// setting's, percent-decoding not applied), or "" when it carries none.
std::string UriPassword(std::string_view uri);

// RedactSecrets(text), and every verbatim occurrence of `secret` (when it is
// not empty) replaced too: for messages that quote a fragment of a URI whose
// password is known.
std::string RedactSecrets(std::string_view text, std::string_view secret);

}  // namespace estoria::core

#endif  // ESTORIA_CORE_UTIL_REDACT_H_
