// Durations: parse_duration (cert check --expires-in, renewal settings) and parse_renew_before
// (cert renew --before). Invariants: format_duration(parse_duration(x)) parses back to the same
// number of seconds, which is never negative; a RenewBefore prints and parses back to itself, and
// a certificate becomes due under it within its validity.
#include <string>

#include "applctl/base/error.hpp"
#include "applctl/services/renew.hpp"
#include "applctl/base/timeutil.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::text(data, size);
  try {
    const std::int64_t seconds = applctl::parse_duration(text);
    FUZZ_ASSERT(seconds >= 0);
    FUZZ_ASSERT(applctl::parse_duration(applctl::format_duration(seconds)) == seconds);
  } catch (const applctl::Error&) {
  }
  try {
    const applctl::RenewBefore before = applctl::parse_renew_before(text);
    const std::string printed = applctl::format_renew_before(before);
    const applctl::RenewBefore again = applctl::parse_renew_before(printed);
    FUZZ_ASSERT(again.kind == before.kind);
    if (before.kind == applctl::RenewBefore::Kind::Duration) {
      FUZZ_ASSERT(before.seconds >= 0 && again.seconds == before.seconds);
    } else {
      FUZZ_ASSERT(before.denominator > 0 && before.numerator > 0 && before.numerator <= before.denominator);
      FUZZ_ASSERT(again.numerator == before.numerator && again.denominator == before.denominator);
    }
    FUZZ_ASSERT(applctl::format_renew_before(again) == printed);
    // A 90-day certificate is never due before it starts or after it ends.
    const applctl::UnixTime due = applctl::due_time(1'800'000'000, 1'800'000'000 + 90 * 86400, before);
    FUZZ_ASSERT(due >= 1'800'000'000 && due <= 1'800'000'000 + 90 * 86400);
  } catch (const applctl::Error&) {
  }
  return 0;
}
