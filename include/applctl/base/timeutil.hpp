// Times and durations as the command line and JSON show them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace applctl {

// Seconds since the Unix epoch, UTC. Certificates carry second resolution.
using UnixTime = std::int64_t;

UnixTime now();
// "2027-01-31T12:00:00Z" (UTC, no fraction). Throws Failed outside the years 0000..9999.
std::string format_rfc3339(UnixTime t);

// An RFC 3339 instant with its fractional second kept (chain verify --at).
struct Instant {
  UnixTime seconds = 0;     // floor of the instant
  std::uint32_t nanos = 0;  // 0..999'999'999
};
// Accepts "2024-03-01T00:00:00Z", "...00.999Z", "...+02:00", lower-case t/z. Throws BadInput.
// Strict RFC 3339 date-time: 1 to 9 fraction digits, offsets applied, no leap second (:60),
// no impossible dates (Feb 30), no missing offset.
Instant parse_rfc3339(std::string_view text);

// "30d", "12h", "90m", "45s", "2w", combinations such as "1d12h"; a bare number is days.
// Units are w d h m s, lower case, in that order, each at most once; "0d" is 0.
// Returns seconds; throws BadInput on anything else (negative, empty, overflow).
std::int64_t parse_duration(std::string_view text);
// The shortest exact rendering: 2592000 -> "30d", 5400 -> "1h30m", 0 -> "0s"; units d h m s
// (never w), so parse_duration(format_duration(s)) == s for s >= 0. Negatives get a '-'.
std::string format_duration(std::int64_t seconds);

}  // namespace applctl
