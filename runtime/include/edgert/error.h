// Errors: every failure in edgert is an edgert::Error carrying a code and a one-line message
// that names what is wrong and where.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace edgert {

enum class ErrorCode {
  invalid_argument = 1,  ///< a caller passed something unusable
  io = 2,                ///< a file could not be read or written
  parse = 3,             ///< a model or tensor file is malformed
  unsupported = 4,       ///< a valid model uses something edgert does not implement
  shape = 5,             ///< shapes or types disagree
  out_of_memory = 6,     ///< a tensor or arena is beyond the configured memory limit
  internal = 7,          ///< a bug in edgert
};

/// Name of a code ("invalid argument", "unsupported", ...).
const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

/// Concatenates its arguments with operator<<.
template <class... Args>
std::string cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

/// Throws Error(code, cat(args...)).
template <class... Args>
[[noreturn]] void fail(ErrorCode code, Args&&... args) {
  throw Error(code, cat(std::forward<Args>(args)...));
}

}  // namespace edgert
