// estoria/string_arg.hpp: StringArg, the parameter type for text that the
// SDK hands to the C ABI (IDs, type names, content types, metadata, URIs).
// The ABI wants NUL-terminated strings: a const char* or a std::string is
// borrowed as is, a std::string_view is copied once (it may not be
// terminated). Hot paths pass std::string or estoria::Id to avoid the copy.
// Calls take `const StringArg&`, so a temporary is made per argument.
//
// Text with an embedded NUL cannot cross the ABI intact: such an argument is
// !valid(), and the call that receives it fails with
// EST_ERR_INVALID_ARGUMENT instead of silently cutting the text short.
//
// A StringArg lives for one call: it is neither copyable nor movable, and it
// borrows its argument, which therefore must outlive the full expression.
#ifndef ESTORIA_STRING_ARG_HPP_
#define ESTORIA_STRING_ARG_HPP_

#include <string>
#include <string_view>

namespace estoria {

class Id;

class StringArg {
 public:
  // NULL stays NULL: the ABI reads it as "" where it allows NULL (content
  // types) and refuses it elsewhere.
  StringArg(const char* s) : p_(s) {}  // NOLINT: implicit by design
  StringArg(const std::string& s) : p_(s.c_str()), valid_(s.find('\0') == std::string::npos) {}  // NOLINT
  StringArg(std::string_view s)  // NOLINT
      : copy_(s), p_(copy_.c_str()), valid_(s.find('\0') == std::string_view::npos) {}

  StringArg(const Id& id);  // NOLINT: its text form, borrowed; defined in id.hpp

  StringArg(const StringArg&) = delete;
  StringArg& operator=(const StringArg&) = delete;

  const char* c_str() const { return p_; }
  // False when the text holds a NUL byte.
  bool valid() const { return valid_; }

 private:
  std::string copy_;  // only for a string_view; declared before p_, which may point into it
  const char* p_;
  bool valid_ = true;
};

}  // namespace estoria

#endif  // ESTORIA_STRING_ARG_HPP_
