// Subject alternative names: parse_san, canonical_ip, build_sans and the RFC 6125 matching.
// The input is split at newlines: the first line is parsed as a SAN (and is the CN of build_sans),
// all lines are the SAN list, and the first two are also a pattern and a host for matching.
// Invariants: a parsed SAN prints and re-parses to itself; a canonical IP is its own canonical
// form; build_sans gives no duplicates, each its own parse, the CN first when it is a DNS name;
// a name (not a wildcard) always matches itself.
#include <algorithm>
#include <string>
#include <vector>

#include "applctl/base/error.hpp"
#include "applctl/x509/names.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::text(data, size);
  const std::vector<std::string_view> lines = fuzz::split(text, '\n');
  const std::string_view first = lines[0];
  try {
    const applctl::San san = applctl::parse_san(first);
    FUZZ_ASSERT(applctl::parse_san(san.str()) == san);
    FUZZ_ASSERT(applctl::parse_san(san.value) == san || san.type == applctl::SanType::DNS);
    if (san.type == applctl::SanType::DNS && !san.value.starts_with("*."))
      FUZZ_ASSERT(applctl::dns_name_matches(san.value, san.value));
  } catch (const applctl::Error&) {
  }
  if (auto ip = applctl::canonical_ip(first)) FUZZ_ASSERT(applctl::canonical_ip(*ip) == *ip);
  (void)applctl::is_dns_name(first);
  if (lines.size() >= 2) {
    (void)applctl::dns_name_matches(lines[0], lines[1]);
    (void)applctl::sans_cover(std::vector<std::string>(lines.begin(), lines.end() - 1), lines.back());
  }
  try {
    applctl::Subject subject;
    subject.cn = std::string(first);
    std::vector<std::string> list(lines.begin() + 1, lines.end());
    const std::vector<applctl::San> sans = applctl::build_sans(subject, list);
    for (std::size_t i = 0; i < sans.size(); ++i) {
      FUZZ_ASSERT(applctl::parse_san(sans[i].str()) == sans[i]);
      FUZZ_ASSERT(std::find(sans.begin() + static_cast<std::ptrdiff_t>(i) + 1, sans.end(), sans[i]) == sans.end());
    }
    if (applctl::is_dns_name(first)) {
      FUZZ_ASSERT(!sans.empty() && sans[0].type == applctl::SanType::DNS);
    }
  } catch (const applctl::Error&) {
  }
  return 0;
}
