// The one error type of applctl. Every failure carries a kind (which is its exit code, see
// applctl(1)), a message naming what failed and on what, and an optional hint for the operator.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace applctl {

enum class ErrorKind {
  Failed = 1,        // unexpected / internal
  Usage = 2,         // unknown flag, missing argument
  Verification = 3,  // chain does not validate, hostname mismatch, probe mismatch
  NotFound = 4,      // no such certificate, request, IP, KMIP object
  Refused = 5,       // refused by a rule (duplicate name, no private key, store locked)
  BadInput = 6,      // unparseable file, wrong passphrase, invalid country or SAN
  Remote = 7,        // KMIP / ACME / TLS peer failed
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, std::string hint = {})
      : std::runtime_error(std::move(message)), kind_(kind), hint_(std::move(hint)) {}

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& hint() const noexcept { return hint_; }
  int exit_code() const noexcept { return static_cast<int>(kind_); }
  // The stable machine-readable code printed in `{"error": {"code": ...}}`.
  std::string_view code() const noexcept { return code_of(kind_); }

  static std::string_view code_of(ErrorKind kind) noexcept {
    switch (kind) {
      case ErrorKind::Failed: return "failed";
      case ErrorKind::Usage: return "usage";
      case ErrorKind::Verification: return "verification-failed";
      case ErrorKind::NotFound: return "not-found";
      case ErrorKind::Refused: return "refused";
      case ErrorKind::BadInput: return "bad-input";
      case ErrorKind::Remote: return "remote-failed";
    }
    return "failed";
  }

 private:
  ErrorKind kind_;
  std::string hint_;
};

// Shorthands: throw bad_input("cannot read 'a.pem': ...", "hint").
[[noreturn]] inline void fail(ErrorKind kind, std::string message, std::string hint = {}) {
  throw Error(kind, std::move(message), std::move(hint));
}

}  // namespace applctl
