// Certificate text as applctl shows it: applctl::printable (lib/base/bytes.cpp, applied where
// certificate names and SANs enter our values) and the friendly name made from such text
// (derived_friendly_name). The input is any bytes: what a hostile CA puts in a CN or a SAN.
// Invariants: the output is valid UTF-8 without control characters (no C0, DEL or C1, so no
// terminal escape sequence), JSON takes it (nlohmann's dump does not throw), printable is
// idempotent and leaves printable text as it is; a derived name passes checked_friendly_name.
#include <string>

#include <nlohmann/json.hpp>

#include "applctl/base/bytes.hpp"
#include "applctl/base/error.hpp"
#include "applctl/services/appliance.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in = fuzz::text(data, size);
  const std::string out = applctl::printable(in);
  FUZZ_ASSERT(applctl::is_printable(out));
  FUZZ_ASSERT(applctl::printable(out) == out);
  FUZZ_ASSERT(applctl::is_printable(in) == (out == in));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    FUZZ_ASSERT(c >= 0x20 && c != 0x7f);
    FUZZ_ASSERT(!(c == 0xc2 && i + 1 < out.size() && static_cast<unsigned char>(out[i + 1]) < 0xa0));
  }
  try {
    FUZZ_ASSERT(!nlohmann::json(out).dump().empty());
  } catch (const nlohmann::json::exception&) {
    FUZZ_ASSERT(!"nlohmann rejected printable text");
  }
  const applctl::DerivedName name = applctl::derived_friendly_name(in);
  try {
    applctl::checked_friendly_name(name.name);
  } catch (const applctl::Error&) {
    FUZZ_ASSERT(!"a derived friendly name breaks the friendly name rules");
  }
  FUZZ_ASSERT(name.name.size() <= 128);
  return 0;
}
