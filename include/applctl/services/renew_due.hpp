// When a certificate is due for renewal: the pure rules (lib/services/renew_due.cpp) that
// `cert renew`, `cert list` and `status` share. Renewing itself is renew.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "applctl/base/timeutil.hpp"

namespace applctl {

// --before: DURATION (like `cert check --expires-in`: 30d, 12h) or FRACTION a/b of the lifetime
// (0 < a/b <= 1). The default is 1/3: a 90-day certificate is due 30 days before it expires.
struct RenewBefore {
  enum class Kind { Fraction, Duration };
  Kind kind = Kind::Fraction;
  std::int64_t numerator = 1, denominator = 3;  // Fraction
  std::int64_t seconds = 0;                     // Duration
};
// Throws BadInput (exit 6) on anything else: 0/3, 4/3, 1/0, -1/2, "abc".
RenewBefore parse_renew_before(std::string_view text);
std::string format_renew_before(const RenewBefore& before);  // "1/3", "30d"

// An ACME server's suggested renewal window (RFC 9773 renewalInfo).
struct RenewalWindow {
  UnixTime start = 0, end = 0;
};

// When a certificate with this validity becomes due under `before` (never before not_before).
UnixTime due_time(UnixTime not_before, UnixTime not_after, const RenewBefore& before);
// RFC 9773: the time, chosen uniformly at random in the window, at which to renew; `pick` is a
// random number in [0, 1). A window whose end is not after its start gives its start.
UnixTime window_due_time(const RenewalWindow& window, double pick);
// Due when that time has come (a chosen time in the past means now).
inline bool is_due(UnixTime due, UnixTime now) { return due <= now; }

}  // namespace applctl
