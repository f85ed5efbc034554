// Times: parse_rfc3339 (chain verify --at, ACME timestamps) and parse_listen_address (serve
// --listen). The first line is the time, the second (if any) the listen address.
// Invariants: the fraction is below one second; an instant whose year prints prints as RFC 3339
// that parses back to the same second; a listen address prints and parses back to itself.
#include <string>

#include "applctl/base/error.hpp"
#include "applctl/serve/serve.hpp"
#include "applctl/base/timeutil.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto lines = fuzz::split(fuzz::text(data, size), '\n');
  try {
    const applctl::Instant t = applctl::parse_rfc3339(lines[0]);
    FUZZ_ASSERT(t.nanos < 1'000'000'000);
    std::string printed;
    try {
      printed = applctl::format_rfc3339(t.seconds);
    } catch (const applctl::Error&) {
      // An offset may carry 0000-01-01T00:00:00+01:00 into year -1, which does not print.
    }
    if (!printed.empty()) {
      const applctl::Instant again = applctl::parse_rfc3339(printed);
      FUZZ_ASSERT(again.seconds == t.seconds && again.nanos == 0);
    }
  } catch (const applctl::Error&) {
  }
  if (lines.size() >= 2) {
    try {
      const applctl::ListenAddress a = applctl::parse_listen_address(lines[1]);
      const applctl::ListenAddress b = applctl::parse_listen_address(a.str());
      FUZZ_ASSERT(a.host == b.host && a.port == b.port);
    } catch (const applctl::Error&) {
    }
  }
  return 0;
}
