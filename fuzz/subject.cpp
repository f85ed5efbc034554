// Subject names: applctl::validated(Subject) and the ISO 3166-1 country check. The input is split
// at '|' into country, state, locality, organization, unit and common name (missing fields empty).
// Invariants: validation is idempotent; a valid country is empty or an official code, two upper
// case letters; validated fields have no surrounding white space.
#include <cctype>
#include <string>

#include "applctl/base/error.hpp"
#include "applctl/x509/names.hpp"
#include "fuzz.hpp"

namespace {

bool two_upper_letters(std::string_view s) {
  return s.size() == 2 && std::isupper(static_cast<unsigned char>(s[0])) && std::isupper(static_cast<unsigned char>(s[1]));
}

bool trimmed(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  return s.empty() || (!space(s.front()) && !space(s.back()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto fields = fuzz::split(fuzz::text(data, size), '|');
  auto field = [&](std::size_t i) { return i < fields.size() ? std::string(fields[i]) : std::string(); };
  if (applctl::is_iso3166_alpha2(fields[0])) FUZZ_ASSERT(two_upper_letters(fields[0]));
  applctl::Subject s{field(0), field(1), field(2), field(3), field(4), field(5)};
  try {
    const applctl::Subject v = applctl::validated(s);
    FUZZ_ASSERT(v.country.empty() || applctl::is_iso3166_alpha2(v.country));
    for (const std::string* f : {&v.country, &v.state, &v.locality, &v.org, &v.ou, &v.cn}) FUZZ_ASSERT(trimmed(*f));
    const applctl::Subject again = applctl::validated(v);
    FUZZ_ASSERT(again.country == v.country && again.state == v.state && again.locality == v.locality &&
                again.org == v.org && again.ou == v.ou && again.cn == v.cn);
  } catch (const applctl::Error&) {
  }
  return 0;
}
