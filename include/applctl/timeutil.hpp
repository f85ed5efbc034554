// Times and durations as the command line and JSON show them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace applctl {

// Seconds since the Unix epoch, UTC. Certificates carry second resolution.
using UnixTime = std::int64_t;

UnixTime now();
// "2027-01-31T12:00:00Z".
std::string format_rfc3339(UnixTime t);

// An RFC 3339 instant with its fractional second kept (chain verify --at).
struct Instant {
  UnixTime seconds = 0;     // floor of the instant
  std::uint32_t nanos = 0;  // 0..999'999'999
};
// Accepts "2024-03-01T00:00:00Z", "...00.999Z", "...+02:00", lower-case t/z. Throws BadInput.
Instant parse_rfc3339(std::string_view text);

// "30d", "12h", "90m", "45s", "2w", combinations such as "1d12h"; a bare number is days.
// Returns seconds; throws BadInput on anything else (negative, empty, overflow).
std::int64_t parse_duration(std::string_view text);
// The shortest exact rendering: 2592000 -> "30d", 5400 -> "1h30m".
std::string format_duration(std::int64_t seconds);

}  // namespace applctl
